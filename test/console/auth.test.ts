import { describe, expect, it } from 'vitest';
import {
  beginSignIn,
  checkIdToken,
  codeChallenge,
  completeSignIn,
  type Discovery,
  decodeJwtPayload,
  type OidcSettings,
  SignInError,
  signOutUrl,
  storedTokens,
  type TokenStorage,
} from '../../web/src/auth.ts';

/**
 * The console's sign-in steps that need no provider: the PKCE challenge, the authorization
 * request, and what the callback refuses. The whole flow, against the local OpenID provider,
 * runs in the browser tests (console.test.ts).
 */

const settings: OidcSettings = {
  issuer: 'https://id.example.com',
  clientId: 'console',
  scopes: ['openid', 'profile', 'email'],
  authParams: { resource: 'https://api.example.com' },
  redirectUri: 'https://console.example.com/callback',
};
const discovery: Discovery = {
  issuer: settings.issuer,
  authorization_endpoint: 'https://id.example.com/auth',
  token_endpoint: 'https://id.example.com/token',
  end_session_endpoint: 'https://id.example.com/session/end',
};

/** sessionStorage's interface over a Map. */
function memoryStorage(): TokenStorage & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

const noTokenEndpoint: typeof fetch = () => {
  throw new Error('the token endpoint must not be called');
};

describe('console sign-in', () => {
  it('derives the S256 challenge of RFC 7636 appendix B', async () => {
    expect(await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('asks for a code with a fresh state, nonce and S256 challenge of the verifier it keeps', async () => {
    const storage = memoryStorage();
    const first = new URL(await beginSignIn(settings, discovery, storage, '#/days/2026-03-09'));
    const kept = JSON.parse(storage.items.get('charlie.signin') as string) as Record<string, string>;
    expect(first.origin + first.pathname).toBe(discovery.authorization_endpoint);
    expect(Object.fromEntries(first.searchParams)).toEqual({
      resource: 'https://api.example.com',
      response_type: 'code',
      client_id: 'console',
      redirect_uri: settings.redirectUri,
      scope: 'openid profile email',
      state: kept.state,
      nonce: kept.nonce,
      code_challenge: await codeChallenge(kept.verifier as string),
      code_challenge_method: 'S256',
    });
    expect(kept.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(kept.returnTo).toBe('#/days/2026-03-09');
    const second = new URL(await beginSignIn(settings, discovery, storage, ''));
    for (const name of ['state', 'nonce', 'code_challenge']) {
      expect(second.searchParams.get(name)).not.toBe(first.searchParams.get(name));
    }
  });

  it('refuses a callback carrying another state before trading its code, and forgets the sign-in', async () => {
    const storage = memoryStorage();
    const url = new URL(await beginSignIn(settings, discovery, storage, ''));
    const forged = new URL(`${settings.redirectUri}?code=stolen&state=not-${url.searchParams.get('state')}`);
    await expect(completeSignIn(settings, discovery, storage, forged, { fetchFn: noTokenEndpoint })).rejects.toThrow(
      /state mismatch/,
    );
    const replayed = new URL(`${settings.redirectUri}?code=stolen&state=${url.searchParams.get('state')}`);
    await expect(completeSignIn(settings, discovery, storage, replayed, { fetchFn: noTokenEndpoint })).rejects.toThrow(
      /No sign-in was started/,
    );
  });

  it('says what the provider refused when the callback carries an error', async () => {
    const storage = memoryStorage();
    await beginSignIn(settings, discovery, storage, '');
    const refused = new URL(`${settings.redirectUri}?error=access_denied&error_description=User%20cancelled`);
    await expect(completeSignIn(settings, discovery, storage, refused, { fetchFn: noTokenEndpoint })).rejects.toThrow(
      'The identity provider refused the sign-in: access_denied (User cancelled)',
    );
  });

  it("takes an ID token only from this issuer, for this client, with this sign-in's nonce, unexpired", () => {
    const now = Date.parse('2026-03-10T15:00:00Z');
    const good = { iss: settings.issuer, aud: ['other', 'console'], nonce: 'n-1', exp: now / 1000 + 60 };
    const expected = { issuer: settings.issuer, clientId: 'console', nonce: 'n-1', now };
    expect(() => checkIdToken(good, expected)).not.toThrow();
    expect(() => checkIdToken({ ...good, nonce: 'n-2' }, expected)).toThrow(/nonce mismatch/);
    expect(() => checkIdToken({ ...good, aud: 'other' }, expected)).toThrow(/not meant for this application/);
    expect(() => checkIdToken({ ...good, iss: 'https://evil.example.com' }, expected)).toThrow(/issuer/);
    expect(() => checkIdToken({ ...good, exp: now / 1000 - 1 }, expected)).toThrow(SignInError);
  });

  it('reads the claims of a JWT whose payload is base64url with non-ASCII text', () => {
    const payload = Buffer.from(JSON.stringify({ name: 'Zoë Ångström', sub: 'x' })).toString('base64url');
    expect(decodeJwtPayload(`e30.${payload}.sig`)).toEqual({ name: 'Zoë Ångström', sub: 'x' });
  });

  it('keeps tokens until the access token expires', () => {
    const storage = memoryStorage();
    storage.setItem('charlie.tokens', JSON.stringify({ accessToken: 'a', idToken: 'i', expiresAt: 2_000 }));
    expect(storedTokens(storage, 1_999)?.accessToken).toBe('a');
    expect(storedTokens(storage, 2_000)).toBeUndefined();
  });

  it("signs out at the provider's end-session endpoint with the ID token as hint", () => {
    const url = new URL(signOutUrl(discovery, settings, 'id-token', 'https://console.example.com/') as string);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: 'console',
      post_logout_redirect_uri: 'https://console.example.com/',
      id_token_hint: 'id-token',
    });
    expect(signOutUrl({ ...discovery, end_session_endpoint: undefined }, settings, 'x', '/')).toBeUndefined();
  });
});
