/**
 * What only a person may do to the guardrails (issue 18): change an agent's rollout stage, raise a budget's
 * limit for its current window, reset its counter. Each is attributed, and the record is written first: an
 * action that cannot be attributed is not taken.
 */
import { adminRecord, type AdminActionRecord } from '../../admin/admin-record.js';
import type { Agent, AgentRegistry } from '../../domain/agent.js';
import { budgetName, planBudget, type BudgetCounter } from '../budgets/budget-plan.js';
import type { BudgetStore } from '../budgets/budget-store.js';
import type { BudgetMetric } from '../budgets/budget-types.js';
import { isStage, STAGES } from '../stages/stage.js';
import type { StageStore } from '../stages/stage-store.js';
import { GuardrailAdminError } from './json-body.js';

export interface GuardrailActionContext {
  readonly by: string;
  readonly reason: string;
  readonly requestId: string;
  readonly callerAddress: string;
}

export interface GuardrailActionsDeps {
  readonly agents: () => AgentRegistry;
  readonly budgets: BudgetStore;
  readonly stages: StageStore;
  readonly record: (record: AdminActionRecord) => Promise<void>;
  readonly now: () => number;
}

/** Every counter an agent's budgets declare in the current windows (amounts: each declared currency). */
export function currentCounters(agent: Agent, nowMs: number): BudgetCounter[] {
  const budgets = agent.budgets;
  if (!budgets) return [];
  const currencies = new Map<string, number>();
  for (const limits of [budgets.overall, ...budgets.tools.values()]) for (const c of limits?.amountMinorPerDay?.keys() ?? []) currencies.set(c, 0);
  const overall = budgets.overall ? planBudget({ overall: budgets.overall, tools: new Map(), onExceed: budgets.onExceed }, '', currencies, nowMs) : [];
  const perTool = [...budgets.tools.keys()].flatMap((tool) => planBudget({ tools: budgets.tools, onExceed: budgets.onExceed }, tool, currencies, nowMs));
  // Amount counters for currencies a budget does not list are limit 0 placeholders: not shown.
  return [...overall, ...perTool].filter((c) => c.limit > 0 || !c.metric.startsWith('amount'));
}

export function createGuardrailActions(deps: GuardrailActionsDeps) {
  function agentOf(clientId: string): Agent {
    const agent = deps.agents().agents.get(clientId);
    if (!agent) throw new GuardrailAdminError(404, 'unknown_agent', 'no such agent');
    return agent;
  }

  function counterOf(agent: Agent, tool: string | undefined, metric: string): BudgetCounter {
    const scope = tool === undefined ? 'overall' : `tool:${tool}`;
    const counter = currentCounters(agent, deps.now()).find((c) => c.scope === scope && c.metric === (metric as BudgetMetric));
    if (!counter) throw new GuardrailAdminError(404, 'unknown_budget', `agent ${agent.clientId} declares no ${metric} budget ${tool === undefined ? 'overall' : `for tool ${tool}`}`);
    return counter;
  }

  async function attribute(action: string, value: string, ctx: GuardrailActionContext): Promise<void> {
    await deps.record(adminRecord({ nowMs: deps.now(), action, by: ctx.by, target: { kind: action.startsWith('budget') ? 'budget' : 'agent', value }, reason: ctx.reason, request_id: ctx.requestId, caller: { address: ctx.callerAddress } }));
  }

  return {
    async budgets(clientId: string) {
      const agent = agentOf(clientId);
      const counters = currentCounters(agent, deps.now());
      const state = await deps.budgets.peek(clientId, counters.map((c) => ({ ...c, add: 0 })));
      return state.counters.map((s) => ({
        budget: budgetName(clientId, s.counter.scope), metric: s.counter.metric, used: s.used, limit: s.limit, configured_limit: s.counter.limit,
        remaining: Math.max(0, s.limit - s.used), window_ends_at: new Date(s.counter.windowEndMs).toISOString(),
      }));
    },

    async raise(clientId: string, tool: string | undefined, metric: string, by: number, ctx: GuardrailActionContext) {
      if (!Number.isSafeInteger(by) || by <= 0) throw new GuardrailAdminError(400, 'invalid_request', 'by must be a positive whole number');
      const counter = counterOf(agentOf(clientId), tool, metric);
      await attribute('budget.raise', `${budgetName(clientId, counter.scope)}:${metric}`, { ...ctx, reason: `+${String(by)} for the window ending ${new Date(counter.windowEndMs).toISOString()}: ${ctx.reason}` });
      const extra = await deps.budgets.raise(clientId, counter, by);
      return { budget: budgetName(clientId, counter.scope), metric, limit: counter.limit + extra, window_ends_at: new Date(counter.windowEndMs).toISOString() };
    },

    async reset(clientId: string, tool: string | undefined, metric: string, ctx: GuardrailActionContext) {
      const counter = counterOf(agentOf(clientId), tool, metric);
      await attribute('budget.reset', `${budgetName(clientId, counter.scope)}:${metric}`, ctx);
      await deps.budgets.reset(clientId, counter);
      return { budget: budgetName(clientId, counter.scope), metric, used: 0, window_ends_at: new Date(counter.windowEndMs).toISOString() };
    },

    async stage(clientId: string, stage: unknown, ctx: GuardrailActionContext) {
      const agent = agentOf(clientId);
      if (!isStage(stage)) throw new GuardrailAdminError(400, 'invalid_request', `stage must be one of ${STAGES.join(', ')}`);
      const previous = (await deps.stages.get(clientId))?.stage ?? agent.stage ?? 'autonomous';
      await attribute('agent.stage', clientId, { ...ctx, reason: `${previous} -> ${stage}: ${ctx.reason}` });
      const nowSeconds = Math.floor(deps.now() / 1000);
      // Back to what the file declares: the override is cleared, so a later file change takes effect.
      await deps.stages.set(clientId, stage === (agent.stage ?? 'autonomous') ? null : { stage: stage, by: ctx.by, reason: ctx.reason, at: nowSeconds });
      return { agent: clientId, stage, previous };
    },
  };
}

export type GuardrailActions = ReturnType<typeof createGuardrailActions>;
