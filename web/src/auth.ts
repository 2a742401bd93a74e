/**
 * OpenID Connect sign-in for a public browser client: authorization code with PKCE (S256),
 * `state` against forged callbacks, `nonce` against replayed ID tokens. The tokens come straight
 * from the token endpoint over TLS, so the ID token's claims are checked and its signature is
 * not (OpenID Connect Core 3.1.3.7, item 6). Tokens live in sessionStorage: they survive a
 * reload of the tab and go with it.
 */

export interface OidcSettings {
  issuer: string;
  clientId: string;
  scopes: string[];
  /** Extra parameters of the authorization request (e.g. Entra ID's `domain_hint`). */
  authParams?: Record<string, string>;
  redirectUri: string;
}

export interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
}

export interface Tokens {
  accessToken: string;
  idToken: string;
  /** Epoch ms at which the access token expires. */
  expiresAt: number;
}

/** The part of the Web Storage API sign-in uses. */
export type TokenStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export class SignInError extends Error {
  override name = 'SignInError';
}

const pendingKey = 'charlie.signin';
const tokensKey = 'charlie.tokens';

/** What the browser keeps between the redirect to the provider and the callback. */
interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
}

export async function discover(issuer: string, fetchFn: typeof fetch = fetch): Promise<Discovery> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const response = await fetchFn(url).catch((error: unknown) => {
    throw new SignInError(`The identity provider could not be reached at ${url}: ${(error as Error).message}`);
  });
  if (!response.ok) throw new SignInError(`The identity provider's discovery document answered ${response.status}`);
  const discovery = (await response.json()) as Discovery;
  if (discovery.issuer !== issuer) {
    throw new SignInError(`The discovery document names issuer ${discovery.issuer}, not ${issuer}`);
  }
  return discovery;
}

/** `bytes` random bytes, base64url: 32 give the 43-character verifier RFC 7636 recommends. */
export function randomToken(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Remembers a fresh state, nonce and verifier, and returns the authorization URL to go to. */
export async function beginSignIn(
  settings: OidcSettings,
  discovery: Discovery,
  storage: TokenStorage,
  returnTo: string,
): Promise<string> {
  const pending: PendingSignIn = { state: randomToken(), nonce: randomToken(), verifier: randomToken(), returnTo };
  storage.setItem(pendingKey, JSON.stringify(pending));
  const url = new URL(discovery.authorization_endpoint);
  const params = {
    ...settings.authParams,
    response_type: 'code',
    client_id: settings.clientId,
    redirect_uri: settings.redirectUri,
    scope: settings.scopes.join(' '),
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await codeChallenge(pending.verifier),
    code_challenge_method: 'S256',
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.toString();
}

/**
 * The callback: checks the state, trades the code and verifier for tokens, checks the ID
 * token's claims, keeps the tokens. Returns where the user was before signing in.
 */
export async function completeSignIn(
  settings: OidcSettings,
  discovery: Discovery,
  storage: TokenStorage,
  callback: URL,
  options: { fetchFn?: typeof fetch; now?: number } = {},
): Promise<{ tokens: Tokens; returnTo: string }> {
  const raw = storage.getItem(pendingKey);
  storage.removeItem(pendingKey);
  const error = callback.searchParams.get('error');
  if (error) {
    const description = callback.searchParams.get('error_description');
    throw new SignInError(
      `The identity provider refused the sign-in: ${error}${description ? ` (${description})` : ''}`,
    );
  }
  if (!raw) throw new SignInError('No sign-in was started in this tab');
  const pending = JSON.parse(raw) as PendingSignIn;
  if (callback.searchParams.get('state') !== pending.state) {
    throw new SignInError('The sign-in response does not belong to the sign-in this tab started (state mismatch)');
  }
  const code = callback.searchParams.get('code');
  if (!code) throw new SignInError('The sign-in response carries no authorization code');
  const response = await (options.fetchFn ?? fetch)(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: settings.redirectUri,
      client_id: settings.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const body = (await response.json()) as {
    access_token?: string;
    id_token?: string;
    expires_in?: number;
    error?: string;
    error_description?: string;
  };
  if (!response.ok || !body.access_token || !body.id_token) {
    throw new SignInError(
      `The token endpoint refused the code: ${body.error ?? response.status}${body.error_description ? ` (${body.error_description})` : ''}`,
    );
  }
  const now = options.now ?? Date.now();
  checkIdToken(decodeJwtPayload(body.id_token), {
    issuer: discovery.issuer,
    clientId: settings.clientId,
    nonce: pending.nonce,
    now,
  });
  const tokens: Tokens = {
    accessToken: body.access_token,
    idToken: body.id_token,
    expiresAt: now + (body.expires_in ?? 300) * 1000,
  };
  storage.setItem(tokensKey, JSON.stringify(tokens));
  return { tokens, returnTo: pending.returnTo };
}

export interface IdTokenClaims {
  iss?: string;
  aud?: string | string[];
  nonce?: string;
  exp?: number;
  sub?: string;
  name?: string;
  email?: string;
}

/** The ID token's claims that bind it to this provider, this client and this sign-in. */
export function checkIdToken(
  claims: IdTokenClaims,
  expected: { issuer: string; clientId: string; nonce: string; now: number },
): void {
  if (claims.iss !== expected.issuer)
    throw new SignInError(`The ID token's issuer is ${claims.iss}, not ${expected.issuer}`);
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(expected.clientId)) throw new SignInError('The ID token is not meant for this application');
  if (claims.nonce !== expected.nonce)
    throw new SignInError('The ID token does not belong to this sign-in (nonce mismatch)');
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= expected.now)
    throw new SignInError('The ID token has expired');
}

export function decodeJwtPayload(jwt: string): IdTokenClaims {
  const payload = jwt.split('.')[1];
  if (!payload) throw new SignInError('The ID token is not a JWT');
  const binary = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as IdTokenClaims;
}

/** The kept tokens while the access token is still valid; none otherwise. */
export function storedTokens(storage: TokenStorage, now = Date.now()): Tokens | undefined {
  const raw = storage.getItem(tokensKey);
  if (!raw) return undefined;
  const tokens = JSON.parse(raw) as Tokens;
  return tokens.expiresAt > now ? tokens : undefined;
}

export function forgetTokens(storage: TokenStorage): void {
  storage.removeItem(tokensKey);
}

/** The provider's end-session URL (RP-initiated logout), when it has one. */
export function signOutUrl(
  discovery: Discovery,
  settings: OidcSettings,
  idToken: string | undefined,
  postLogoutRedirectUri: string,
): string | undefined {
  if (!discovery.end_session_endpoint) return undefined;
  const url = new URL(discovery.end_session_endpoint);
  url.searchParams.set('client_id', settings.clientId);
  url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri);
  if (idToken) url.searchParams.set('id_token_hint', idToken);
  return url.toString();
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
