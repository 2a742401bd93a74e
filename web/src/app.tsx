import { useEffect, useState } from 'preact/hooks';
import type { ConsoleSettings, MeResponse } from '../../functions/console-api/contract.ts';
import type { ApiClient } from './api.ts';
import { ErrorNote } from './components/notes.tsx';
import { useLoad } from './load.ts';
import { DayPage } from './pages/day.tsx';
import { DaysPage } from './pages/days.tsx';
import { HealthPage } from './pages/health.tsx';
import { TodayPage } from './pages/today.tsx';

/** Pages are addressed by the URL's fragment (`#/days/2026-03-09`): the static host serves one document. */
type Route = { page: 'days' } | { page: 'day'; date: string } | { page: 'today' } | { page: 'health' };

export function routeOf(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const day = /^\/days\/(\d{4}-\d{2}-\d{2})$/.exec(path);
  if (day?.[1]) return { page: 'day', date: day[1] };
  if (path === '/today') return { page: 'today' };
  if (path === '/health') return { page: 'health' };
  return { page: 'days' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(window.location.hash));
  useEffect(() => {
    const changed = () => setRoute(routeOf(window.location.hash));
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}

export function App(props: { api: ApiClient; settings: ConsoleSettings; signOut(): void }) {
  const { api, settings } = props;
  const me = useLoad(() => api.get<MeResponse>('/me'), 'me');
  const route = useRoute();
  const operator = me.data?.roles.includes('operator') ?? false;
  // The page loads beside /me rather than after it; it goes if /me finds no role.
  const shown = me.error === undefined && (me.data === undefined || me.data.roles.length > 0);
  const link = (page: Route['page'], href: string, label: string) => (
    <a href={href} aria-current={route.page === page ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <button type="button" class="skip" onClick={skipToMain}>
        Skip to the content
      </button>
      <header class="top">
        <p class="brand">
          Charlie Reporting <span class="center">{settings.centerName}</span>
        </p>
        <nav aria-label="Pages">
          {link('days', '#/', 'Days')}
          {link('today', '#/today', 'Today')}
          {link('health', '#/health', 'Health')}
        </nav>
        <div class="user">
          {me.data && (
            <span>
              {me.data.user.name ?? me.data.user.email ?? me.data.user.subject}{' '}
              <span class="role">({me.data.roles.join(', ') || 'no role'})</span>
            </span>
          )}
          <button type="button" onClick={props.signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <ErrorNote error={me.error} />
        {me.data && me.data.roles.length === 0 && (
          <>
            <h1>No access yet</h1>
            <p role="alert">
              You are signed in, but your account has no role in the console. Ask an administrator to add you to the
              viewers or the operators.
            </p>
          </>
        )}
        {shown && route.page === 'days' && <DaysPage api={api} settings={settings} />}
        {shown && route.page === 'day' && (
          <DayPage key={route.date} api={api} settings={settings} date={route.date} operator={operator} />
        )}
        {shown && route.page === 'today' && <TodayPage api={api} settings={settings} />}
        {shown && route.page === 'health' && <HealthPage api={api} settings={settings} />}
      </main>
    </>
  );
}

/** A button, not a link to #main: the fragment names the page. */
function skipToMain(): void {
  const heading = document.querySelector<HTMLElement>('main h1');
  heading?.focus();
}

/** What is shown instead of the console when signing in failed. */
export function SignInFailed(props: { error: unknown; retry(): void }) {
  return (
    <main id="main" class="signin-failed">
      <h1>Sign-in failed</h1>
      <ErrorNote error={props.error} />
      <button type="button" class="primary" onClick={props.retry}>
        Sign in again
      </button>
    </main>
  );
}
