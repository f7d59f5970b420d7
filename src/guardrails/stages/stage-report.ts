/**
 * The evidence a security team reviews before promoting an agent (issue 18 §3): what it did, or in the
 * shadow stage would have done, over a period, from the attribution log. Pure aggregation over records;
 * the caller streams them (attribution/query.ts).
 */
import type { AttributionRecord } from '../../attribution/record.js';

export interface ToolReport {
  exchanges: number;
  granted: number;
  /** Shadow-stage exchanges: decided in full, answered with what would have been granted, nothing minted. */
  would_have_granted: number;
  denied: number;
  /** Scope -> times granted (or would have been, in shadow). */
  scopes: Record<string, number>;
  /** Denial reason -> count (shadow excluded). */
  denials: Record<string, number>;
  /** Exchanges that needed a person's approval (supervised stage, approval gates). */
  approvals_required: number;
}

export interface StageReport {
  readonly agent: string;
  readonly from?: string;
  readonly to?: string;
  /** Stage -> exchanges made in it (as each record names it; `autonomous` when it names none). */
  readonly stages: Record<string, number>;
  readonly tools: Record<string, ToolReport>;
  /** Stage changes, budget warnings and raises, suspensions concerning the agent. */
  readonly actions: readonly { readonly time: string; readonly action: string; readonly by: string; readonly reason: string }[];
  readonly budget_refusals: Record<string, number>;
}

const APPROVAL_REASONS = /approval/u;

export async function buildStageReport(agent: string, records: AsyncIterable<AttributionRecord> | Iterable<AttributionRecord>, period: { from?: string; to?: string } = {}): Promise<StageReport> {
  const stages: Record<string, number> = {};
  const tools: Record<string, ToolReport> = {};
  const actions: { time: string; action: string; by: string; reason: string }[] = [];
  const budgetRefusals: Record<string, number> = {};
  // Streamed: constant memory however long the period.
  for await (const r of records) {
    if (r.type === 'admin_action') {
      const value = r.target.value;
      if (value === agent || value.startsWith(`${agent}/`) || value.startsWith(`${agent}:`)) actions.push({ time: r.time, action: r.action, by: r.by, reason: r.reason });
      continue;
    }
    if (r.type !== 'token_exchange' || r.agent.client_id !== agent) continue;
    const stage = r.stage ?? 'autonomous';
    stages[stage] = (stages[stage] ?? 0) + 1;
    const toolId = r.tool?.id ?? '(none)';
    const t = (tools[toolId] ??= { exchanges: 0, granted: 0, would_have_granted: 0, denied: 0, scopes: {}, denials: {}, approvals_required: 0 });
    t.exchanges += 1;
    const shadow = r.reason === 'stage_shadow';
    if (r.decision === 'granted') t.granted += 1;
    else if (shadow) t.would_have_granted += 1;
    else {
      t.denied += 1;
      t.denials[r.reason] = (t.denials[r.reason] ?? 0) + 1;
    }
    if (APPROVAL_REASONS.test(r.reason)) t.approvals_required += 1;
    if (r.decision === 'granted' || shadow) for (const s of r.scopes?.granted ?? []) t.scopes[s] = (t.scopes[s] ?? 0) + 1;
    if (r.budget) budgetRefusals[`${r.budget.name} ${r.budget.metric}`] = (budgetRefusals[`${r.budget.name} ${r.budget.metric}`] ?? 0) + 1;
  }
  return { agent, ...(period.from ? { from: period.from } : {}), ...(period.to ? { to: period.to } : {}), stages, tools, actions, budget_refusals: budgetRefusals };
}
