/**
 * Explain runs the token endpoint's own decision steps (issue 18 §4), so its answer cannot drift from what
 * `/token` would do: every step `/token` runs from `decide` up to (not including) `mint`, the same step
 * objects (test/guardrails/explain/explain-steps.test.ts holds this list equal to that slice of TOKEN_STEPS),
 * over dependencies made side-effect free:
 *   - budgets are only peeked (the guardrails' `budget` forced to `peek`; nothing is reserved, no warning
 *     record, no owner notified, no suspension);
 *   - the approval gate runs with `dryRun`: nothing opened, recorded, notified, paced or counted;
 *   - the stage and the act chain's standing are reads.
 * The steps before `decide` read HTTP (framing, client authentication, DPoP, the user token) or count
 * (rate limits); explain starts from their results: the agent and tool named, the user from a verified
 * token or dry-run claims. Steps run in order as the runner runs them (pipeline/runner.ts): each gets the
 * facts so far; the first refusal ends the run.
 */
import type { Agent } from '../../domain/agent.js';
import type { Tool } from '../../domain/catalog.js';
import { TOKEN_TYPE, type ExchangeRequest, type SubjectClaims } from '../../domain/exchange.js';
import { isDenial } from '../../exchange/reasons.js';
import type { Facts } from '../../token-endpoint/pipeline/facts.js';
import type { TokenHttpRequest } from '../../token-endpoint/pipeline/http-request.js';
import type { Refusal, Step, StepResult } from '../../token-endpoint/pipeline/step.js';
import { actChainStanding, type ActChainStandingDeps } from '../../token-endpoint/steps/act-chain-standing.js';
import { approval, type ApprovalDeps } from '../../token-endpoint/steps/approval.js';
import { budget, type BudgetDeps } from '../../token-endpoint/steps/budget.js';
import { decide, type DecideDeps } from '../../token-endpoint/steps/decide.js';
import { stage } from '../../token-endpoint/steps/stage.js';
import type { ApprovalTrigger } from '../approvals/approval.js';
import type { ApprovalGate } from '../approvals/approval-step.js';
import type { CounterState } from '../budgets/budget-plan.js';
import type { BudgetPhase, Guardrails } from '../guardrail-step.js';

export type ExplainStepDeps = DecideDeps & ActChainStandingDeps & BudgetDeps & ApprovalDeps;

/** `/token`'s steps from `decide` to `mint`, in its order. */
export const EXPLAIN_STEPS: readonly Step<ExplainStepDeps>[] = [decide, actChainStanding, stage, approval, budget];

export interface ExplainRunInput {
  readonly agent: Agent;
  readonly tool: Tool;
  readonly subject: SubjectClaims;
  readonly scopes: readonly string[];
  /** The `authorization_details` parameter exactly as an agent would send it to /token. */
  readonly rawDetails?: string;
}

export interface ExplainRun {
  readonly facts: Facts;
  /** The refusal that ended the run; undefined: /token would go on to mint. */
  readonly refusal?: Refusal;
  /** The budget counters the budget step (or the shadow stage) looked at. */
  readonly counters: readonly CounterState[];
  /** Why the approval gate fires, when it does. */
  readonly triggers?: readonly ApprovalTrigger[];
}

/** The request explain stands for: no HTTP, an address that says where it came from in any record. */
const EXPLAIN_REQUEST: TokenHttpRequest = {
  method: 'POST', querystring: '', contentType: undefined, contentLength: undefined, authorization: undefined,
  origin: undefined, rawHeaders: [], address: 'explain', readBody: () => Promise.resolve(undefined),
};

const isRefusal = (result: StepResult): result is Refusal => (result as { kind?: unknown }).kind === 'refused';

export async function runExplainSteps(deps: {
  readonly base: Omit<ExplainStepDeps, 'guardrails' | 'approvals'>;
  readonly guardrails: Guardrails;
  readonly approvals?: ApprovalGate;
}, input: ExplainRunInput): Promise<ExplainRun> {
  let counters: readonly CounterState[] = [];
  let triggers: readonly ApprovalTrigger[] | undefined;
  const peekOnly: Guardrails = {
    ...deps.guardrails,
    budget: async (budgetInput, _mode): Promise<BudgetPhase> => {
      const phase = await deps.guardrails.budget(budgetInput, 'peek');
      counters = phase.counters;
      return phase;
    },
  };
  const gate = deps.approvals;
  const dryGate: ApprovalGate | undefined = gate && {
    ...gate,
    run: async (stepInput) => {
      const result = await gate.run(stepInput, { dryRun: true });
      if ('step' in result && result.step === 'answer' && result.triggers) triggers = result.triggers;
      return result;
    },
    claimMinted: () => Promise.reject(new Error('explain never mints')),
  };
  const stepDeps: ExplainStepDeps = { ...deps.base, guardrails: peekOnly, ...(dryGate ? { approvals: dryGate } : {}) };

  const request: ExchangeRequest = {
    subjectToken: '', subjectTokenType: TOKEN_TYPE.accessToken, resources: [input.tool.resource], audiences: [],
    scopes: [...new Set(input.scopes)], requestedTokenType: TOKEN_TYPE.accessToken,
  };
  const facts: { -readonly [K in keyof Facts]: Facts[K] } = {
    requestId: 'explain', agent: input.agent, tool: input.tool, subject: input.subject, request,
    form: input.rawDetails !== undefined ? { authorization_details: input.rawDetails } : {},
  };
  for (const step of EXPLAIN_STEPS) {
    if (step.needs.some((name) => facts[name] === undefined)) throw new Error(`explain: step ${step.name} lacks a fact`);
    const result = await step.run(facts, EXPLAIN_REQUEST, stepDeps);
    if (isDenial(result)) return { facts, refusal: { kind: 'refused', denial: result }, counters, ...(triggers ? { triggers } : {}) };
    if (isRefusal(result)) {
      if (result.established) Object.assign(facts, result.established);
      return { facts, refusal: result, counters, ...(triggers ? { triggers } : {}) };
    }
    Object.assign(facts, result);
  }
  return { facts, counters, ...(triggers ? { triggers } : {}) };
}
