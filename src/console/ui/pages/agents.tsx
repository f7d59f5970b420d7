import { useEffect, useRef, useState } from 'preact/hooks';
import { post } from '../api.js';
import { useApi } from '../hooks.js';
import { Badge, Section, Status, Time } from '../components.js';
import { href, type Route } from '../router.js';
import { RecordTable, type RecordSummary } from './records.js';
import { AgentGuardrails } from './agent-guardrails.js';

interface AgentView {
  clientId: string; name: string; owner: string; status: string;
  override: { by: string; reason: string; at: string } | null;
  tools: { tool: string; scopes: string[] }[];
  lastActivity: string | null;
}

type Action = 'suspend' | 'reinstate' | 'revoke';

function ActionForm({ agent, action, onDone, onCancel }: { agent: AgentView; action: Action; onDone: () => void; onCancel: () => void }) {
  const [reason, setReason] = useState('');
  const [override, setOverride] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const reasonField = useRef<HTMLTextAreaElement>(null);
  // Keyboard users land in the reason field (the autofocus attribute does nothing on inserted elements).
  useEffect(() => { reasonField.current?.focus(); }, []);
  const submit = (e: Event): void => {
    e.preventDefault();
    setBusy(true);
    post(`/agents/${encodeURIComponent(agent.clientId)}/${action}`, { reason, override }).then(onDone, (err: unknown) => {
      setError(err instanceof Error ? err.message : 'failed');
      setBusy(false);
    });
  };
  const id = `reason-${agent.clientId}`;
  return (
    <form class="confirm" onSubmit={submit} aria-label={`${action} ${agent.clientId}`}>
      <p><strong>{action[0]?.toUpperCase()}{action.slice(1)} {agent.clientId}?</strong> {action === 'reinstate' ? 'It may exchange tokens again.' : 'It is refused at once and every token it holds is revoked.'}</p>
      <label for={id}>Reason (recorded with your name)</label>
      <textarea id={id} name="reason" required maxLength={500} value={reason} onInput={(e) => { setReason(e.currentTarget.value); }} ref={reasonField} />
      {agent.override && agent.override.by !== '' && (
        <label class="check"><input type="checkbox" checked={override} onChange={(e) => { setOverride(e.currentTarget.checked); }} /> Override the action of {agent.override.by}</label>
      )}
      {error !== undefined && <p class="error" role="alert">{error}</p>}
      <div class="buttons">
        <button type="submit" class={action === 'reinstate' ? 'primary' : 'danger'} disabled={busy || reason.trim() === ''}>Confirm {action}</button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}

function AgentRow({ agent, canAct, reload }: { agent: AgentView; canAct: boolean; reload: () => void }) {
  const [action, setAction] = useState<Action | undefined>();
  const stopped = agent.status !== 'active';
  return (
    <tr>
      <td><a href={href('agents', agent.clientId)}><strong>{agent.clientId}</strong></a><div class="muted">{agent.name}</div></td>
      <td><Badge value={agent.status} />{agent.override && <div class="muted small">{agent.override.by}: {agent.override.reason}</div>}</td>
      <td>{agent.owner}</td>
      <td>{agent.tools.map((t) => <div key={t.tool}><code>{t.tool}</code> <span class="muted small">{t.scopes.join(' ')}</span></div>)}</td>
      <td><Time iso={agent.lastActivity} /></td>
      <td>
        {canAct && action === undefined && (
          <div class="buttons">
            {!stopped && <button type="button" class="danger" onClick={() => { setAction('suspend'); }}>Suspend</button>}
            {stopped && <button type="button" class="primary" onClick={() => { setAction('reinstate'); }}>Reinstate</button>}
            {agent.status !== 'revoked' && <button type="button" class="danger" onClick={() => { setAction('revoke'); }}>Revoke</button>}
          </div>
        )}
        {canAct && action !== undefined && <ActionForm agent={agent} action={action} onCancel={() => { setAction(undefined); }} onDone={() => { setAction(undefined); reload(); }} />}
      </td>
    </tr>
  );
}

function AgentDetail({ id, canAct }: { id: string; canAct: boolean }) {
  const records = useApi<{ records: RecordSummary[] }>(`/records?agent=${encodeURIComponent(id)}&limit=20`);
  return (
    <>
    <AgentGuardrails id={id} canAct={canAct} />
    <Section title={`Recent records of ${id}`}>
      <Status loading={records.loading} error={records.error} />
      {records.data && <RecordTable records={records.data.records} />}
      <p><a href={`${href('explorer')}?agent=${encodeURIComponent(id)}`}>All records of {id} in the explorer</a></p>
    </Section>
    </>
  );
}

export function AgentsPage({ route, roles }: { route: Route; roles: readonly string[] }) {
  const agents = useApi<{ agents: AgentView[] }>('/agents');
  const canAct = roles.includes('operator');
  const selected = route.parts[1];
  return (
    <>
      <h1>Agents</h1>
      <Status loading={agents.loading && !agents.data} error={agents.error} />
      {agents.data && (
        <div class="table-wrap">
          <table class="responsive">
            <thead><tr><th>Agent</th><th>Status</th><th>Owner</th><th>Tools</th><th>Last activity</th><th>{canAct ? 'Actions' : ''}</th></tr></thead>
            <tbody>{agents.data.agents.filter((a) => selected === undefined || a.clientId === selected).map((a) => <AgentRow key={a.clientId} agent={a} canAct={canAct} reload={agents.reload} />)}</tbody>
          </table>
        </div>
      )}
      {selected !== undefined && <AgentDetail id={selected} canAct={canAct} />}
    </>
  );
}
