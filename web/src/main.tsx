import { render } from 'preact';
import type { ConsoleSettings } from '../../functions/console-api/contract.ts';
import { createApiClient } from './api.ts';
import { App, SignInFailed } from './app.tsx';
import {
  beginSignIn,
  completeSignIn,
  type Discovery,
  discover,
  forgetTokens,
  type OidcSettings,
  SignInError,
  signOutUrl,
  storedTokens,
} from './auth.ts';
import './styles.css';

const signedInAtKey = 'charlie.signedInAt';
/** A 401 this soon after signing in means the API does not take the provider's tokens: say so rather than loop. */
const reSignInAfterMs = 30_000;

async function start(root: HTMLElement): Promise<void> {
  const response = await fetch('/config.json');
  if (!response.ok) throw new Error(`The console's settings (/config.json) answered ${response.status}`);
  const settings = (await response.json()) as ConsoleSettings;
  const oidc: OidcSettings = {
    issuer: settings.issuer,
    clientId: settings.clientId,
    scopes: settings.scopes,
    redirectUri: `${window.location.origin}/callback`,
    ...(settings.authParams ? { authParams: settings.authParams } : {}),
  };
  const discovery = await discover(settings.issuer);
  const storage = window.sessionStorage;
  const signIn = async () => {
    forgetTokens(storage);
    window.location.assign(await beginSignIn(oidc, discovery, storage, window.location.hash));
  };

  if (window.location.pathname === '/callback') {
    try {
      const { returnTo } = await completeSignIn(oidc, discovery, storage, new URL(window.location.href));
      storage.setItem(signedInAtKey, String(Date.now()));
      window.history.replaceState(null, '', `/${returnTo}`);
    } catch (error) {
      window.history.replaceState(null, '', '/');
      render(<SignInFailed error={error} retry={signIn} />, root);
      return;
    }
  }
  if (!storedTokens(storage)) {
    await signIn();
    return;
  }

  const api = createApiClient({
    apiUrl: settings.apiUrl,
    accessToken: () => storedTokens(storage)?.accessToken,
    onUnauthorized: () => {
      if (Date.now() - Number(storage.getItem(signedInAtKey) ?? 0) < reSignInAfterMs) {
        render(
          <SignInFailed
            error={new SignInError('The console API refused the token just issued by the identity provider')}
            retry={signIn}
          />,
          root,
        );
        return;
      }
      void signIn();
    },
  });
  render(<App api={api} settings={settings} signOut={() => signOut(discovery, oidc, storage)} />, root);
  document.title = `${settings.centerName} — Charlie Reporting`;
}

function signOut(discovery: Discovery, oidc: OidcSettings, storage: Storage): void {
  const idToken = storedTokens(storage, 0)?.idToken;
  forgetTokens(storage);
  storage.removeItem(signedInAtKey);
  window.location.assign(signOutUrl(discovery, oidc, idToken, `${window.location.origin}/`) ?? '/');
}

const root = document.getElementById('app') as HTMLElement;
start(root).catch((error: unknown) =>
  render(<SignInFailed error={error} retry={() => window.location.assign('/')} />, root),
);
