import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { useApi } from '../hooks.js';
import { ReasonForm, Section, Status, Time } from '../components.js';
import { href, type Route } from '../router.js';

interface Connection { tool: string; upstream: string; scopes: string[]; connectedAt: string; refreshedAt?: string }
interface Connections { available: boolean; user: string; connections: Connection[] }

function ConnectionRow({ user, c, own, reload }: { user: string; c: Connection; own: boolean; reload: () => void }) {
  const [confirming, setConfirming] = useState(false);
  return (
    <tr data-tool={c.tool}>
      <td data-label="Tool"><code>{c.tool}</code></td>
      <td data-label="Service"><code class="hash">{c.upstream}</code></td>
      <td data-label="Granted scopes">{c.scopes.map((s) => <code key={s}>{s} </code>)}</td>
      <td data-label="Connected"><Time iso={c.connectedAt} />{c.refreshedAt !== undefined && <div class="muted small">refreshed <Time iso={c.refreshedAt} /></div>}</td>
      <td>
        {!confirming && <button type="button" class="danger" onClick={() => { setConfirming(true); }}>Disconnect</button>}
        {confirming && (
          <ReasonForm label={`disconnect ${c.tool}`} tone="danger" confirm="Confirm disconnect"
            question={<><strong>Disconnect {own ? 'your' : `${user}'s`} {c.tool} connection?</strong> The grant is deleted here and revoked at the service; agents lose access until {own ? 'you connect' : 'the user connects'} again.</>}
            onSubmit={(reason) => post('/connections/disconnect', { user, tool: c.tool, reason }).then(() => { setConfirming(false); reload(); })}
            onCancel={() => { setConfirming(false); }} />
        )}
      </td>
    </tr>
  );
}

function ConnectionList({ user, own }: { user: string | undefined; own: boolean }) {
  const list = useApi<Connections>(`/connections${user !== undefined ? `?user=${encodeURIComponent(user)}` : ''}`);
  const d = list.data;
  return (
    <Section title={own ? 'Your connections' : `Connections of ${user ?? ''}`}>
      <Status loading={list.loading && !d} error={list.error} />
      {d && !d.available && <p class="muted">No tool of the catalog keeps users' connections (no <code>connector: vault</code> upstream).</p>}
      {d?.available === true && (d.connections.length === 0 ? <p class="muted">{own ? 'You have' : `${d.user} has`} no connections.</p> : (
        <div class="table-wrap"><table class="responsive">
          <thead><tr><th>Tool</th><th>Service</th><th>Granted scopes</th><th>Connected</th><th>Action</th></tr></thead>
          <tbody>{d.connections.map((c) => <ConnectionRow key={`${c.tool} ${c.upstream}`} user={d.user} c={c} own={own} reload={list.reload} />)}</tbody>
        </table></div>
      ))}
    </Section>
  );
}

export function ConnectionsPage({ route, roles }: { route: Route; roles: readonly string[] }) {
  const looked = route.params.get('user') ?? undefined;
  const [user, setUser] = useState(looked ?? '');
  const operator = roles.includes('operator');
  const submit = (e: Event): void => {
    e.preventDefault();
    window.location.hash = `${href('connections')}?user=${encodeURIComponent(user.trim())}`;
  };
  return (
    <>
      <h1>Connections</h1>
      <p class="muted">Services users connected once, so their tools can act for them there (the vault).</p>
      {operator && (
        <form class="filters" role="search" aria-label="Look up a user's connections" onSubmit={submit}>
          <label>User (sub)<input name="user" value={user} onInput={(e) => { setUser(e.currentTarget.value); }} /></label>
          <div class="buttons"><button type="submit" class="primary" disabled={user.trim() === ''}>Look up</button></div>
        </form>
      )}
      {operator && looked !== undefined && looked !== '' && <ConnectionList key={looked} user={looked} own={false} />}
      <ConnectionList user={undefined} own />
    </>
  );
}
