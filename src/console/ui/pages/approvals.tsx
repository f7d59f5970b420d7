import { useEffect, useState } from 'preact/hooks';
import { post } from '../api.js';
import { useApi } from '../hooks.js';
import { Badge, ReasonForm, Section, Status, Time } from '../components.js';
import { href } from '../router.js';

interface ApprovalView {
  id: string; status: string; agent: string; user: { iss: string; sub: string }; tool: string; scopes: string[];
  why: string[]; created_at: string; expires_at: string; seconds_left: number;
  actions: { type: string; action: string; arguments_sha256: string; fields: Record<string, string> }[];
  decision?: { by: string; via: string; as: string; at: string };
  minted_jti?: string;
  /** The tool reported the single use of the approved token. */
  used?: { at: string; by: string };
}

interface Approvals {
  pending: ApprovalView[];
  decided: ApprovalView[];
  tools: { tool: string; exchanges: number; gated: number; gated_share: number }[];
}

function left(seconds: number): string {
  if (seconds <= 0) return 'lapsed';
  const m = Math.floor(seconds / 60);
  return m > 0 ? `${String(m)} min ${String(seconds % 60)} s` : `${String(seconds)} s`;
}

/** What the agent wants to do, in words: the action and its typed fields (the amount first). */
function What({ a }: { a: ApprovalView }) {
  if (a.actions.length === 0) return <span>scopes <code>{a.scopes.join(' ')}</code></span>;
  return (
    <>{a.actions.map((x) => (
      <div key={x.arguments_sha256}>
        <strong>{x.action}</strong>
        {x.fields.amount !== undefined && <> <span class="amount">{x.fields.amount} {x.fields.currency ?? ''}</span></>}
        {Object.entries(x.fields).filter(([k]) => k !== 'amount' && k !== 'currency').map(([k, v]) => <div key={k} class="muted small">{k}: {v}</div>)}
      </div>
    ))}</>
  );
}

function Digests({ a }: { a: ApprovalView }) {
  return <>{a.actions.map((x) => <code key={x.arguments_sha256} class="hash small" title="SHA-256 of the call's canonical arguments">{x.arguments_sha256}</code>)}</>;
}

function PendingRow({ a, canDecide, elapsed, reload }: { a: ApprovalView; canDecide: boolean; elapsed: number; reload: () => void }) {
  const [deciding, setDeciding] = useState<'approve' | 'reject' | undefined>();
  // The server's count, less the seconds since it answered (the browser's clock may be off; its pace is not).
  const secondsLeft = Math.max(0, a.seconds_left - elapsed);
  return (
    <tr data-approval-id={a.id}>
      <td data-label="User"><code>{a.user.sub}</code></td>
      <td data-label="Agent"><a href={href('agents', a.agent)}>{a.agent}</a></td>
      <td data-label="Tool"><code>{a.tool}</code></td>
      <td data-label="Action"><What a={a} /><div class="muted small">{a.why.join('; ')}</div></td>
      <td data-label="Arguments' digest"><Digests a={a} /></td>
      <td data-label="Time left"><span class={secondsLeft < 60 ? 'error' : undefined}>{left(secondsLeft)}</span></td>
      <td>
        {canDecide && deciding === undefined && (
          <div class="buttons">
            <button type="button" class="primary" onClick={() => { setDeciding('approve'); }}>Approve</button>
            <button type="button" class="danger" onClick={() => { setDeciding('reject'); }}>Reject</button>
          </div>
        )}
        {canDecide && deciding !== undefined && (
          <ReasonForm label={`${deciding} ${a.id}`} tone={deciding === 'approve' ? 'primary' : 'danger'}
            question={<strong>{deciding === 'approve' ? 'Approve' : 'Reject'} this request of {a.agent} for {a.user.sub}?</strong>}
            confirm={`Confirm ${deciding}`}
            onSubmit={(reason) => post(`/approvals/${encodeURIComponent(a.id)}/${deciding}`, { reason }).then(() => { setDeciding(undefined); reload(); })}
            onCancel={() => { setDeciding(undefined); }} />
        )}
        {!canDecide && <span class="muted small">approver role needed</span>}
      </td>
    </tr>
  );
}

export function ApprovalsPage({ roles }: { roles: readonly string[] }) {
  const list = useApi<Approvals>('/approvals');
  const [now, setNow] = useState(Date.now());
  const [fetchedAt, setFetchedAt] = useState(Date.now());
  const { reload, refresh } = list;
  useEffect(() => { setFetchedAt(Date.now()); }, [list.data]);
  useEffect(() => {
    const tick = setInterval(() => { setNow(Date.now()); }, 1000);
    const poll = setInterval(refresh, 10_000);
    return () => { clearInterval(tick); clearInterval(poll); };
  }, [refresh]);
  const canDecide = roles.includes('approver');
  const d = list.data;
  return (
    <>
      <h1>Approvals</h1>
      <Status loading={list.loading && !d} error={list.error} />
      {d && (
        <>
          <Section title={`Pending (${String(d.pending.length)})`}>
            {d.pending.length === 0 ? <p class="muted">Nothing waits for a decision.</p> : (
              <div class="table-wrap"><table class="responsive">
                <thead><tr><th>User</th><th>Agent</th><th>Tool</th><th>Action</th><th>Arguments' digest</th><th>Time left</th><th>{canDecide ? 'Decide' : ''}</th></tr></thead>
                <tbody>{d.pending.map((a) => <PendingRow key={a.id} a={a} canDecide={canDecide} elapsed={Math.max(0, Math.floor((now - fetchedAt) / 1000))} reload={reload} />)}</tbody>
              </table></div>
            )}
          </Section>
          <div class="grid">
            <Section title="Decided">
              {d.decided.length === 0 ? <p class="muted">No decisions yet.</p> : (
                <div class="table-wrap"><table class="responsive">
                  <thead><tr><th>Status</th><th>Request</th><th>Decided by</th><th>When</th></tr></thead>
                  <tbody>{d.decided.map((a) => (
                    <tr key={a.id} data-approval-id={a.id}>
                      <td><Badge value={a.status} />{a.used && <div class="muted small">used at the tool <Time iso={a.used.at} /></div>}</td>
                      <td>{a.agent} for <code>{a.user.sub}</code> on <code>{a.tool}</code><div class="small"><What a={a} /></div></td>
                      <td data-label="Decided by">{a.decision ? <>{a.decision.by} <span class="muted small">({a.decision.via})</span></> : <span class="muted">nobody</span>}</td>
                      <td data-label="When">{a.decision ? <Time iso={a.decision.at} /> : <Time iso={a.expires_at} />}</td>
                    </tr>
                  ))}</tbody>
                </table></div>
              )}
            </Section>
            <Section title="Share of exchanges gated, per tool">
              <p class="muted small">An approval that fires on most exchanges becomes a rubber stamp: keep these low.</p>
              {d.tools.length === 0 ? <p class="muted">No gated tool has been asked yet.</p> : (
                <table><thead><tr><th>Tool</th><th class="num">Exchanges</th><th class="num">Gated</th><th class="num">Share</th></tr></thead><tbody>
                  {d.tools.map((t) => <tr key={t.tool}><td><code>{t.tool}</code></td><td class="num">{t.exchanges}</td><td class="num">{t.gated}</td><td class="num">{(t.gated_share * 100).toFixed(1)} %</td></tr>)}
                </tbody></table>
              )}
            </Section>
          </div>
        </>
      )}
    </>
  );
}
