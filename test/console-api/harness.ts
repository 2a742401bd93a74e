import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfigPath, parseConfig } from '../../functions/common/config.ts';
import { type LocalConsole, startLocalConsole } from '../../local/console/server.ts';
import { type LocalRunResult, runLocally } from '../../local/local-run.ts';

/** The shipped configuration with the example's two alert rules, which the sample day crosses. */
export const config = parseConfig({
  ...JSON.parse(readFileSync(defaultConfigPath, 'utf8')),
  alerts: JSON.parse(readFileSync('examples/teams-alerts.config.json', 'utf8')).alerts,
});
export const date = '2026-03-09';
/** The day after, mid-morning in Chicago: every export of the day is in. */
export const now = () => Date.parse('2026-03-10T15:00:00Z');

export interface ConsoleStack {
  run: LocalRunResult;
  console: LocalConsole;
  close(): Promise<void>;
}

/** The sample day run on the local stack, kept up, with the console served over it. */
export async function startConsoleStack(
  options: Pick<Parameters<typeof startLocalConsole>[0], 'otherAudiences' | 'tokenClock'> = {},
): Promise<ConsoleStack> {
  const out = mkdtempSync(join(tmpdir(), 'charlie-console-test-'));
  const run = await runLocally({ config, date, outDir: out, keepRunning: true, now });
  if (!run.execution.succeeded) throw new Error(`The sample day failed: ${run.execution.error?.message}`);
  const console = await startLocalConsole({ config, ...run, now, ...options });
  return {
    run,
    console,
    async close() {
      await console.close();
      await run.stop();
      rmSync(out, { recursive: true, force: true });
    },
  };
}

/** Cookies of one browser, per host. */
class CookieJar {
  private cookies = new Map<string, string>();
  take(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const [name, ...value] = (pair as string).split('=');
      this.cookies.set(name as string, value.join('='));
    }
  }
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/**
 * Signs in as a browser does, over HTTP: authorization code with PKCE (S256), the provider's login
 * form posted, the code exchanged at the token endpoint. Returns the access token.
 */
export async function signIn(
  console: LocalConsole,
  email: string,
  options: { password?: string; resource?: string } = {},
): Promise<string> {
  const discovery = (await (await fetch(`${console.issuer}/.well-known/openid-configuration`)).json()) as {
    authorization_endpoint: string;
    token_endpoint: string;
  };
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const redirectUri = `${console.url}/callback`;
  const authorize = new URL(discovery.authorization_endpoint);
  for (const [name, value] of Object.entries({
    client_id: console.clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    state: randomBytes(8).toString('hex'),
    nonce: randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    resource: options.resource ?? console.audience,
  })) {
    authorize.searchParams.set(name, value);
  }
  const jar = new CookieJar();
  const step = async (url: string, init: RequestInit = {}) => {
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: jar.header() },
    });
    jar.take(response);
    return response;
  };
  let response = await step(authorize.href);
  let location = response.headers.get('location');
  for (let hops = 0; location && !location.startsWith(redirectUri) && hops < 10; hops++) {
    const url = new URL(location, console.issuer).href;
    if (/\/interaction\/[^/]+$/.test(new URL(url).pathname)) {
      response = await step(`${url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email, password: options.password ?? console.password }).toString(),
      });
      if (response.status !== 303) throw new Error(`Sign-in as ${email} refused (${response.status})`);
    } else {
      response = await step(url);
    }
    location = response.headers.get('location');
  }
  const code = location ? new URL(location).searchParams.get('code') : null;
  if (!code) throw new Error(`No authorization code for ${email}: ${response.status} ${await response.text()}`);
  const token = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: console.clientId,
      code_verifier: verifier,
    }).toString(),
  });
  const body = (await token.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!body.access_token) throw new Error(`Token refused: ${body.error}: ${body.error_description}`);
  return body.access_token;
}

/** A call to the console's API as the app makes it. */
export async function api(
  console: LocalConsole,
  path: string,
  token: string | undefined,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const response = await fetch(`${console.apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      origin: console.url,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text, headers: response.headers };
}
