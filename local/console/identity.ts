import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Context, errors, type Token } from 'oidc-provider';

/**
 * A real OpenID Connect provider on loopback (oidc-provider) standing in for Cognito or Entra ID:
 * authorization code with PKCE (required), JWT access tokens for the API's audience through
 * resource indicators, and one dev user per role. Its login page is a plain form, no script.
 */

export interface DevUser {
  email: string;
  name: string;
  /** Cognito's groups claim, as a user pool puts it in the access token. */
  groups: string[];
}

/** The dev users and their password: printed when the console starts, never for anything but the local stack. */
export const devPassword = 'charlie-local';

export const devUsers: readonly DevUser[] = [
  { email: 'viewer@example.com', name: 'Vera Viewer', groups: ['viewer'] },
  { email: 'operator@example.com', name: 'Otto Operator', groups: ['operator'] },
  { email: 'nobody@example.com', name: 'Nora Norole', groups: [] },
];

export interface IdentityOptions {
  /** The console's origin: its `/callback` is the client's only redirect URI. */
  consoleOrigin: string;
  clientId: string;
  /** The audience of the access tokens (the API). */
  audience: string;
  /** Other resources it issues tokens for, which the API must refuse (the tests ask for them). */
  otherAudiences?: readonly string[];
  /** Access tokens' lifetime, in seconds. */
  accessTokenSeconds?: number;
}

export interface LocalIdentity {
  issuer: string;
  stop(): Promise<void>;
}

export async function startIdentityProvider(options: IdentityOptions): Promise<LocalIdentity> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'local-console', alg: 'RS256', use: 'sig' };
  const account = (id: string) => devUsers.find((user) => user.email === id);

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: options.clientId,
        client_name: 'Charlie Reporting console',
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [`${options.consoleOrigin}/callback`],
        post_logout_redirect_uris: [`${options.consoleOrigin}/`],
      },
    ],
    pkce: { required: () => true },
    // The token endpoint answers the console's origin only, as the deployed providers are set up.
    clientBasedCORS: (_ctx: Context, origin: string) => origin === options.consoleOrigin,
    scopes: ['openid', 'email', 'profile'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    ttl: {
      AccessToken: options.accessTokenSeconds ?? 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
    },
    findAccount: (_ctx: Context, id: string) => {
      const user = account(id);
      if (!user) return undefined;
      return {
        accountId: user.email,
        claims: () => ({ sub: user.email, email: user.email, email_verified: true, name: user.name }),
      };
    },
    // As a Cognito access token carries them: the user's groups, and who they are.
    extraTokenClaims: (_ctx: Context, token: Token) => {
      const user = token.kind === 'AccessToken' && token.accountId ? account(token.accountId) : undefined;
      return user ? { 'cognito:groups': user.groups, email: user.email, name: user.name } : undefined;
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: Context, resource: string) => {
          if (resource !== options.audience && !options.otherAudiences?.includes(resource)) {
            throw new errors.InvalidTarget();
          }
          return {
            scope: 'openid email profile',
            audience: resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: options.accessTokenSeconds ?? 3600,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    renderError,
  });
  const callback = provider.callback();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    const interaction = /^\/interaction\/([^/]+)(\/login)?$/.exec(url.pathname);
    if (!interaction) {
      callback(req, res);
      return;
    }
    interact(provider, req, res, interaction[2] !== undefined, options.consoleOrigin).catch((error: unknown) => {
      page(res, 400, 'Sign-in failed', `<p>${escapeHtml((error as Error).message)}</p>`, options.consoleOrigin);
    });
  });

  return {
    issuer,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The login form (GET), its submission (POST), and the consent a first-party console never asks for. */
async function interact(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  submitted: boolean,
  consoleOrigin: string,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({
          accountId: details.session?.accountId as string,
          clientId: details.params.client_id as string,
        });
    if (!grant) throw new Error('The grant of this sign-in is gone: start again');
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } });
    return;
  }
  if (!submitted || req.method !== 'POST') {
    loginPage(res, details.uid, consoleOrigin);
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  const email = (form.get('email') ?? '').trim().toLowerCase();
  const user = devUsers.find((u) => u.email === email);
  if (!user || form.get('password') !== devPassword) {
    loginPage(res, details.uid, consoleOrigin, 'Unknown user or wrong password.');
    return;
  }
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: user.email } },
    { mergeWithLastSubmission: false },
  );
}

function loginPage(res: ServerResponse, uid: string, consoleOrigin: string, problem?: string): void {
  const users = devUsers
    .map((user) => `<li><code>${user.email}</code>: ${user.groups.join(', ') || 'no role'}</li>`)
    .join('');
  page(
    res,
    problem ? 401 : 200,
    'Sign in to Charlie Reporting',
    `${problem ? `<p role="alert">${problem}</p>` : ''}
<form method="post" action="/interaction/${encodeURIComponent(uid)}/login">
<p><label for="email">Email</label><br><input id="email" name="email" type="email" autocomplete="username" required autofocus></p>
<p><label for="password">Password</label><br><input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p>
</form>
<h2>Local users</h2>
<p>The password of each is <code>${devPassword}</code>.</p>
<ul>${users}</ul>`,
    consoleOrigin,
  );
}

/** A page of the provider: no script, no inline style, forms posting only here and redirecting to the console. */
function page(res: ServerResponse, status: number, title: string, body: string, consoleOrigin: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; form-action 'self' ${consoleOrigin}; frame-ancestors 'none'; base-uri 'none'`,
    'x-content-type-options': 'nosniff',
  });
  res.end(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head>
<body><main><h1>${title}</h1>
${body}
</main></body>
</html>
`);
}

function logoutSource(ctx: Context, form: string): void {
  ctx.type = 'html';
  ctx.body = document(
    'Sign out of Charlie Reporting',
    `${form}<p><button type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button>
<button type="submit" form="op.logoutForm">Stay signed in</button></p>`,
  );
}

function postLogoutSuccessSource(ctx: Context): void {
  ctx.type = 'html';
  ctx.body = document('Signed out', '<p>You are signed out of Charlie Reporting.</p>');
}

function renderError(ctx: Context, out: Record<string, string>): void {
  ctx.type = 'html';
  ctx.body = document(
    'Sign-in failed',
    Object.entries(out)
      .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(String(value))}</p>`)
      .join(''),
  );
}

function document(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head>
<body><main><h1>${title}</h1>
${body}
</main></body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string,
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 16_384) {
        reject(new Error('The form is too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
