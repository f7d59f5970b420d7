import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { useApi } from '../hooks.js';
import { Badge, ReasonForm, Section, Status, Time } from '../components.js';

const STAGES = ['shadow', 'read_only', 'supervised', 'autonomous'] as const;

interface Guardrails {
  stage: { current: string; declared: string; override: { by: string; reason: string; at: string } | null };
  budgets: { budget: string; metric: string; used: number; limit: number; configured_limit: number; remaining: number; window_ends_at: string }[];
}

function metricLabel(metric: string): string {
  if (metric.startsWith('amount_per_day:')) return `amount per day (${metric.slice('amount_per_day:'.length)}, minor units)`;
  return metric.replace(/_/gu, ' ');
}

/** The agent's rollout stage (changed by an operator, with a reason and a confirmation) and its budgets' use. */
export function AgentGuardrails({ id, canAct }: { id: string; canAct: boolean }) {
  const g = useApi<Guardrails>(`/agents/${encodeURIComponent(id)}/guardrails`);
  const [next, setNext] = useState('');
  const [confirming, setConfirming] = useState(false);
  const d = g.data;
  return (
    <div class="grid">
      <Section title="Rollout stage">
        <Status loading={g.loading && !d} error={g.error} />
        {d && (
          <>
            <p><Badge value={d.stage.current} /> {d.stage.override
              ? <span class="muted">set by {d.stage.override.by} <Time iso={d.stage.override.at} />: {d.stage.override.reason} (the agent file says {d.stage.declared})</span>
              : <span class="muted">as the agent file declares</span>}</p>
            {canAct && !confirming && (
              <form class="filters" aria-label="Change the stage" onSubmit={(e) => { e.preventDefault(); setConfirming(true); }}>
                <label>New stage<select value={next} onChange={(e) => { setNext(e.currentTarget.value); }}>
                  <option value="">choose…</option>
                  {STAGES.filter((s) => s !== d.stage.current).map((s) => <option key={s} value={s}>{s}</option>)}
                </select></label>
                <div class="buttons"><button type="submit" disabled={next === ''}>Change stage…</button></div>
              </form>
            )}
            {canAct && confirming && (
              <ReasonForm label={`stage ${id}`} tone="danger" confirm="Confirm stage change"
                question={<strong>Move {id} from {d.stage.current} to {next}?</strong>}
                onSubmit={(reason) => post(`/agents/${encodeURIComponent(id)}/stage`, { stage: next, reason }).then(() => { setConfirming(false); setNext(''); g.reload(); })}
                onCancel={() => { setConfirming(false); }} />
            )}
          </>
        )}
      </Section>
      <Section title="Budgets (current windows)">
        {d && (d.budgets.length === 0 ? <p class="muted">No budgets declared.</p> : (
          <table class="responsive"><thead><tr><th>Budget</th><th>Use</th><th class="num">Used / limit</th><th>Window ends</th></tr></thead><tbody>
            {d.budgets.map((b) => (
              <tr key={`${b.budget} ${b.metric}`}>
                <td><code>{b.budget}</code><div class="muted small">{metricLabel(b.metric)}</div></td>
                <td><meter min={0} max={Math.max(1, b.limit)} value={b.used} high={b.limit * 0.8} optimum={0} aria-label={`${b.budget} ${b.metric} used`} /></td>
                <td class="num">{b.used} / {b.limit}{b.limit !== b.configured_limit && <div class="muted small">raised from {b.configured_limit}</div>}</td>
                <td><Time iso={b.window_ends_at} /></td>
              </tr>
            ))}
          </tbody></table>
        ))}
      </Section>
    </div>
  );
}
