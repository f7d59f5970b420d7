/**
 * The guardrail steps of one exchange, after the decision core granted it (issue 18): the agent's rollout
 * stage, then its budgets. `enforce` is the token endpoint: a budget is reserved atomically, the owner is
 * notified and the agent optionally suspended. `dry_run` (explain, the shadow stage) runs the same code but
 * only peeks at the counters and has no side effect. The stage and budget rules are the pure functions in
 * stages/stage.ts and budgets/budget-plan.ts; this is the thin shell around their stores.
 */
import type { ActionDetail } from '../domain/authorization-details.js';
import type { Agent } from '../domain/agent.js';
import type { Tool } from '../domain/catalog.js';
import type { Grant } from '../domain/exchange.js';
import { adminRecord, type AdminActionRecord } from '../admin/admin-record.js';
import { deny, type Denial } from '../exchange/reasons.js';
import type { Logger } from '../log.js';
import { amountsOf, budgetName, counterId, planBudget, remainingClaim, warningsCrossed, type BudgetClaim, type CounterState } from './budgets/budget-plan.js';
import type { BudgetEvent, BudgetNotifier } from './budgets/budget-notifier.js';
import type { BudgetStore } from './budgets/budget-store.js';
import { applyStage, type Stage } from './stages/stage.js';
import type { StageStore } from './stages/stage-store.js';

/** The budget that refused an exchange, as its denial record names it. */
export interface BudgetRefusal {
  readonly name: string;
  readonly metric: string;
  readonly limit: number;
  readonly used: number;
  readonly requested: number;
}

export interface GuardrailInput {
  readonly agent: Agent;
  readonly grant: Grant;
  /** RFC 9396 authorization_details of the request, parsed (empty when none). */
  readonly details: readonly ActionDetail[];
  readonly requestId: string;
  readonly callerAddress: string;
  readonly nowMs: number;
}

export type GuardrailResult =
  | { readonly kind: 'mint'; readonly stage: Stage; readonly grant: Grant; readonly budget?: BudgetClaim; readonly counters: readonly CounterState[] }
  | { readonly kind: 'refuse'; readonly stage: Stage; readonly denial: Denial; readonly budget?: BudgetRefusal; readonly counters: readonly CounterState[]; readonly approvalRequired?: readonly string[] };

export type StagePhase =
  /** Go on with this grant; `tool` is what the approval gate reads (supervised: write scopes need approval). */
  | { readonly kind: 'continue'; readonly stage: Stage; readonly grant: Grant; readonly tool: Tool; readonly approvalRequired?: readonly string[] }
  | { readonly kind: 'shadow'; readonly stage: 'shadow'; readonly grant: Grant }
  | { readonly kind: 'refuse'; readonly stage: Stage; readonly denial: Denial };

export type BudgetPhase =
  | { readonly ok: true; readonly claim?: BudgetClaim; readonly counters: readonly CounterState[] }
  | { readonly ok: false; readonly denial: Denial; readonly budget?: BudgetRefusal; readonly counters: readonly CounterState[] };

export interface GuardrailDeps {
  readonly budgets: BudgetStore;
  readonly stages: StageStore;
  /** Appends a record to the attribution stream (warnings). */
  readonly record: (record: AdminActionRecord) => Promise<void>;
  readonly notify: BudgetNotifier;
  /** Suspends the agent (the admin action, attributed to `by`). */
  readonly suspend: (clientId: string, by: string, reason: string) => Promise<void>;
  readonly log: Logger;
}

/** The stage in force: a person's override, else the agent file's, else autonomous. Throws if unreadable. */
export async function effectiveStage(stages: StageStore, agent: Agent): Promise<Stage> {
  return (await stages.get(agent.clientId))?.stage ?? agent.stage ?? 'autonomous';
}

function refusalOf(agent: string, state: CounterState): BudgetRefusal {
  return { name: budgetName(agent, state.counter.scope), metric: state.counter.metric, limit: state.limit, used: state.used, requested: state.counter.add };
}

export function createGuardrails(deps: GuardrailDeps) {
  function event(type: BudgetEvent['type'], agent: Agent, s: CounterState, suspended: boolean, nowMs: number): BudgetEvent {
    return {
      type, agent: agent.clientId, owner: agent.owner, budget: budgetName(agent.clientId, s.counter.scope), metric: s.counter.metric,
      limit: s.limit, used: s.used + (type === 'budget.warning' ? s.counter.add : 0),
      window_ends_at: new Date(s.counter.windowEndMs).toISOString(), suspended, time: new Date(nowMs).toISOString(),
    };
  }

  /** Near a budget: one warning record per counter and window (the reservation that crossed 80 %), and the owner told. */
  async function warn(input: GuardrailInput, crossed: readonly CounterState[]): Promise<void> {
    for (const s of crossed) {
      const name = budgetName(input.agent.clientId, s.counter.scope);
      try {
        await deps.record(adminRecord({
          nowMs: input.nowMs, action: 'budget.warning', by: 'budget', target: { kind: 'budget', value: `${name}:${s.counter.metric}` },
          reason: `${String(s.used + s.counter.add)} of ${String(s.limit)} used (80 % reached); the window ends ${new Date(s.counter.windowEndMs).toISOString()}`,
          request_id: input.requestId, caller: { address: input.callerAddress },
        }));
      } catch (err) {
        deps.log.error({ err, agent: input.agent.clientId, budget: name }, 'budget warning could not be recorded');
      }
      if (input.agent.budgets?.notify) void deps.notify(input.agent.budgets.notify, event('budget.warning', input.agent, s, false, input.nowMs));
    }
  }

  /** Over a budget: the owner told and the agent optionally suspended, once per counter and window across replicas. */
  async function exceeded(input: GuardrailInput, s: CounterState): Promise<void> {
    const budgets = input.agent.budgets;
    if (!budgets) return;
    const first = await deps.budgets.once(`exceeded:${input.agent.clientId}:${counterId(s.counter)}`, Math.max(1000, s.counter.windowEndMs - input.nowMs));
    if (!first) return;
    const name = budgetName(input.agent.clientId, s.counter.scope);
    let suspended = false;
    if (budgets.onExceed === 'suspend') {
      try {
        await deps.suspend(input.agent.clientId, `budget:${name}`, `budget ${name} ${s.counter.metric} spent (${String(s.used)} of ${String(s.limit)})`);
        suspended = true;
      } catch (err) {
        deps.log.error({ err, agent: input.agent.clientId }, 'agent over budget could not be suspended (it is still refused while the budget is spent)');
      }
    }
    if (budgets.notify) void deps.notify(budgets.notify, event('budget.exceeded', input.agent, s, suspended, input.nowMs));
  }

  /** The rollout stage (pure rule, stage store read): narrows, refuses, or marks what needs approval. */
  async function stage(agent: Agent, grant: Grant): Promise<StagePhase> {
    const current = await effectiveStage(deps.stages, agent);
    const staged = applyStage(current, grant.tool, grant.scopes);
    if ('decision' in staged) return { kind: 'refuse', stage: current, denial: staged };
    const narrowed: Grant = { ...grant, scopes: staged.scopes };
    if (staged.kind === 'shadow') return { kind: 'shadow', stage: 'shadow', grant: narrowed };
    if (staged.kind === 'approval_required') {
      return { kind: 'continue', stage: current, grant: narrowed, tool: supervisedTool(grant.tool, staged.writeScopes), approvalRequired: staged.writeScopes };
    }
    return { kind: 'continue', stage: current, grant: narrowed, tool: grant.tool };
  }

  /** The budgets: reserved atomically (`reserve`), or only looked at (`peek`: shadow, explain). */
  async function budget(input: GuardrailInput, mode: 'reserve' | 'peek'): Promise<BudgetPhase> {
    const { agent, grant } = input;
    const amounts = amountsOf(input.details);
    if ('invalid' in amounts) return { ok: false, denial: deny('request_malformed', amounts.invalid), counters: [] };
    const plan = planBudget(agent.budgets, grant.tool.id, amounts, input.nowMs);
    const result = mode === 'reserve' ? await deps.budgets.reserve(agent.clientId, plan) : await deps.budgets.peek(agent.clientId, plan);
    if (!result.ok) {
      const refusal = refusalOf(agent.clientId, result.exceeded);
      if (mode === 'reserve') await exceeded(input, result.exceeded);
      const denial = { ...deny('budget_exceeded', `budget ${refusal.name} ${refusal.metric} is spent (${String(refusal.used)} of ${String(refusal.limit)}); a person must raise or reset it`), scopes: grant.scopes };
      return { ok: false, denial, budget: refusal, counters: result.counters };
    }
    if (mode === 'reserve') await warn(input, warningsCrossed(result.counters));
    const claim = remainingClaim(result.counters);
    return { ok: true, ...(claim ? { claim } : {}), counters: result.counters };
  }

  return {
    stage,
    budget,
    /**
     * Stage and budgets in one, for explain (`dry_run`) and for a broker without the approval gate
     * (`enforce`): a supervised agent's write grant then answers `stage_approval_required`.
     */
    async check(input: GuardrailInput, mode: 'enforce' | 'dry_run'): Promise<GuardrailResult> {
      const staged = await stage(input.agent, input.grant);
      if (staged.kind === 'refuse') return { kind: 'refuse', stage: staged.stage, denial: staged.denial, counters: [] };
      const narrowedInput = { ...input, grant: staged.grant };
      const pendingApproval = staged.kind === 'continue' ? staged.approvalRequired : undefined;
      // Nothing is minted in the shadow stage or while an approval is needed, so nothing is spent: a peek.
      const reserve = mode === 'enforce' && staged.kind === 'continue' && pendingApproval === undefined;
      const spent = await budget(narrowedInput, reserve ? 'reserve' : 'peek');
      if (!spent.ok) return { kind: 'refuse', stage: staged.stage, denial: spent.denial, ...(spent.budget ? { budget: spent.budget } : {}), counters: spent.counters };
      if (staged.kind === 'shadow') return { kind: 'refuse', stage: 'shadow', denial: shadowDenial(staged.grant), counters: spent.counters };
      if (pendingApproval) {
        const denial = { ...deny('stage_approval_required', `supervised stage: ${pendingApproval.join(' ')} need a person's approval`), scopes: staged.grant.scopes };
        return { kind: 'refuse', stage: staged.stage, denial, counters: spent.counters, approvalRequired: pendingApproval };
      }
      return { kind: 'mint', stage: staged.stage, grant: staged.grant, ...(spent.claim ? { budget: spent.claim } : {}), counters: spent.counters };
    },
  };
}

/** The shadow stage's answer: what would have been granted, and that nothing was minted. */
export function shadowDenial(grant: Grant): Denial {
  return { ...deny('stage_shadow', `shadow stage: would grant scope "${grant.scopes.granted.join(' ')}" for ${String(grant.exp - grant.iat)} s; no token is minted`), scopes: grant.scopes };
}

/** The supervised stage as the approval gate reads it: the tool with each write scope marked `approval: required`. */
export function supervisedTool(tool: Tool, writeScopes: readonly string[]): Tool {
  const gated = new Set(writeScopes);
  return { ...tool, scopes: new Map([...tool.scopes].map(([name, scope]) => [name, gated.has(name) ? { ...scope, approval: 'required' as const } : scope])) };
}

export type Guardrails = ReturnType<typeof createGuardrails>;
