import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { useApi } from '../hooks.js';
import { Section, Status, Time } from '../components.js';

interface Revocation { id: string; kind: string; value: string; reason: string; by: string; at: number; expiresAt: number }

function RevokeForm({ onDone }: { onDone: () => void }) {
  const [kind, setKind] = useState('user');
  const [value, setValue] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = (e: Event): void => {
    e.preventDefault();
    post('/revocations', { kind, value, reason }).then(() => { setValue(''); setReason(''); setError(undefined); onDone(); }, (err: unknown) => { setError(err instanceof Error ? err.message : 'failed'); });
  };
  return (
    <form class="filters" onSubmit={submit} aria-label="Revoke tokens">
      <label>Kind<select value={kind} onChange={(e) => { setKind(e.currentTarget.value); }}><option value="user">every token of a user (sub)</option><option value="tool">every token for a tool</option><option value="token">one token (jti)</option></select></label>
      <label>Value<input required value={value} onInput={(e) => { setValue(e.currentTarget.value); }} /></label>
      <label>Reason<input required maxLength={500} value={reason} onInput={(e) => { setReason(e.currentTarget.value); }} /></label>
      {error !== undefined && <p class="error" role="alert">{error}</p>}
      <div class="buttons"><button type="submit" class="danger" disabled={value === '' || reason.trim() === ''}>Revoke</button></div>
    </form>
  );
}

export function RevocationsPage({ roles }: { roles: readonly string[] }) {
  const list = useApi<{ revocations: Revocation[] }>('/revocations');
  return (
    <>
      <h1>Revocations</h1>
      {roles.includes('operator') && <Section title="Revoke tokens"><RevokeForm onDone={list.reload} /></Section>}
      <Status loading={list.loading} error={list.error} />
      {list.data && (list.data.revocations.length === 0 ? <p class="muted">No live revocation rules.</p> : (
        <div class="table-wrap"><table class="responsive">
          <thead><tr><th>Rule</th><th>Reason</th><th>By</th><th>At</th><th>Dropped after</th></tr></thead>
          <tbody>{list.data.revocations.map((r) => (
            <tr key={r.id}><td><code>{r.kind}:{r.value}</code></td><td>{r.reason}</td><td>{r.by}</td><td><Time iso={new Date(r.at * 1000).toISOString()} /></td><td><Time iso={new Date(r.expiresAt * 1000).toISOString()} /></td></tr>
          ))}</tbody>
        </table></div>
      ))}
    </>
  );
}
