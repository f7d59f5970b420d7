/** The operator console's front end: the signed-in person, the navigation, the page for the hash. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get, logout, setCsrf, type Session } from './api.js';
import { PAGES } from './pages/registry.js';
import { href, useRoute } from './router.js';

function App() {
  const [session, setSession] = useState<Session | undefined>();
  const [error, setError] = useState<string | undefined>();
  const route = useRoute();
  useEffect(() => {
    get<Session>('/session').then((s) => { setCsrf(s.csrf_token); setSession(s); }, (err: unknown) => { setError(err instanceof Error ? err.message : 'failed'); });
  }, []);
  const id = route.parts[0] ?? 'overview';
  const page = PAGES.find((p) => p.id === id && (p.role === undefined || session?.roles.includes(p.role) === true));
  useEffect(() => {
    document.title = `${page?.title ?? 'Not found'} · Broker console`;
    document.getElementById('main')?.focus();
  }, [page]);
  if (error !== undefined) return <main><p class="error" role="alert">{error}</p></main>;
  if (!session) return <main><p class="muted">Loading…</p></main>;
  const signOut = (): void => { void logout().then((next) => { window.location.assign(next); }); };
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header>
        <span class="brand">Token broker console</span>
        <nav aria-label="Console">
          {PAGES.filter((p) => p.hidden !== true && (p.role === undefined || session.roles.includes(p.role))).map((p) => (
            <a key={p.id} href={href(p.id)} aria-current={p.id === id ? 'page' : undefined}>{p.title}</a>
          ))}
        </nav>
        <span class="who"><span title={session.sub}>{session.name}</span> <span class="muted small">({session.roles.join(', ')})</span>
          <button type="button" onClick={signOut}>Sign out</button></span>
      </header>
      <main id="main" tabIndex={-1}>{page ? page.render({ route, roles: session.roles }) : <h1>Not found</h1>}</main>
    </>
  );
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
