/**
 * Explain (issue 18 §4): the full decision trace of an exchange that is never made. It runs /token's own
 * steps from `decide` to `mint` (explain-steps.ts: the decision core, the act chain's standing, the stage,
 * the approval gate dry, the budgets peeked) and lays out why: each scope kept or dropped and why, the
 * lifetime bound that won among all candidates, the time window, the configured rate limits, the budget
 * counters, and whether a person's approval is needed. No token is minted and nothing is counted.
 */
import type { Agent } from '../../domain/agent.js';
import type { BrokerConfig } from '../../domain/broker-config.js';
import type { Tool } from '../../domain/catalog.js';
import type { AgentRegistry } from '../../domain/agent.js';
import { TOKEN_TYPE, type ExchangeRequest, type SubjectClaims } from '../../domain/exchange.js';
import type { ExchangePolicy } from '../../exchange/decide.js';
import { narrowScopes } from '../../exchange/narrow-scopes.js';
import { deny, type Denial } from '../../exchange/reasons.js';
import type { AgentStatusView } from '../../state/agent-status.js';
import type { ApprovalGate } from '../approvals/approval-step.js';
import { approvalTriggers } from '../approvals/decide-approval.js';
import { describeTrigger } from '../approvals/describe-approval.js';
import { runExplainSteps } from './explain-steps.js';
import { currentWindow } from '../../exchange/time-windows.js';
import { budgetName } from '../budgets/budget-plan.js';
import type { Guardrails } from '../guardrail-step.js';

export interface ExplainInput {
  readonly agent: Agent;
  readonly tool: Tool;
  readonly scopes: readonly string[];
  /** The verified user (from a token), or claims given for a dry run. */
  readonly subject: SubjectClaims;
  /** `authorization_details` exactly as an agent sends it to /token (RFC 9396 JSON), if any. */
  readonly rawDetails?: string;
  readonly nowMs: number;
  /** A person's suspension or revocation of the agent, if any. */
  readonly override?: { readonly status: string } | null;
}

export interface ScopeTrace {
  readonly scope: string;
  readonly kept: boolean;
  /** Why it was dropped (the decision core's reason, or the stage's). */
  readonly reason?: string;
  readonly risk?: string;
  readonly access?: 'read' | 'write';
  readonly justified_by?: readonly string[];
}

export interface ExplainTrace {
  /** What the token endpoint would answer. */
  readonly verdict: 'granted' | 'denied' | 'shadow' | 'approval_required';
  readonly reason: string;
  readonly error?: string;
  readonly description?: string;
  readonly agent: { readonly client_id: string; readonly status: string; readonly stage?: string; readonly allowed_scopes: readonly string[] };
  readonly tool: { readonly id: string; readonly resource: string };
  readonly user: { readonly iss: string; readonly sub: string; readonly scopes: readonly string[]; readonly exp: number };
  readonly window: { readonly windows: number; readonly inside: boolean; readonly ends_at?: string };
  readonly scopes: readonly ScopeTrace[];
  readonly lifetime?: { readonly won: string; readonly expires_in: number; readonly candidates: readonly { readonly bound: string; readonly exp: number }[] };
  readonly rate_limits: { readonly per_agent?: { readonly limit: number; readonly window_ms: number }; readonly per_agent_tool?: { readonly limit: number; readonly window_ms: number } };
  readonly budget: readonly { readonly budget: string; readonly metric: string; readonly limit: number; readonly used: number; readonly would_add: number; readonly room: boolean }[];
  readonly budget_exceeded?: string;
  readonly approval: { readonly required: boolean; readonly scopes: readonly string[]; readonly why?: readonly string[] };
  readonly token_minted: false;
}

export interface ExplainDeps {
  readonly policy: ExchangePolicy;
  readonly guardrails: Guardrails;
  readonly rateLimits?: BrokerConfig['rateLimits'];
  /** What step `act-chain-standing` reads (the same views /token reads). */
  readonly agentStatus: AgentStatusView;
  readonly agents: () => AgentRegistry;
  readonly now: () => number;
  /** The approval gate, run dry (explain-steps.ts); absent: nothing is gated, as at /token. */
  readonly approvals?: ApprovalGate;
}

function scopeTraces(input: ExplainInput, kept: ReadonlySet<string>, dropped: ReadonlyMap<string, string>, requested: readonly string[]): ScopeTrace[] {
  return requested.map((scope) => {
    const def = input.tool.scopes.get(scope);
    const reason = dropped.get(scope);
    return {
      scope,
      kept: kept.has(scope),
      ...(reason !== undefined ? { reason } : {}),
      ...(def ? { risk: def.risk, access: def.access ?? 'write', justified_by: def.justifiedBy } : {}),
    };
  });
}

export async function explainExchange(deps: ExplainDeps, input: ExplainInput): Promise<ExplainTrace> {
  const { agent, tool, subject, nowMs } = input;
  const request: ExchangeRequest = {
    subjectToken: '', subjectTokenType: TOKEN_TYPE.accessToken, resources: [tool.resource], audiences: [],
    scopes: [...new Set(input.scopes)], requestedTokenType: TOKEN_TYPE.accessToken,
  };
  const allowed = agent.tools.get(tool.id) ?? [];
  const window = currentWindow(tool.timeWindows, nowMs);
  const nowSeconds = Math.floor(nowMs / 1000);
  const candidates = [
    { bound: 'tool_max_ttl', exp: nowSeconds + tool.maxTtlSeconds },
    { bound: 'agent_max_ttl', exp: nowSeconds + agent.maxTtlSeconds },
    { bound: 'subject_token_exp', exp: subject.exp },
    ...(window.inside && window.endsAtMs !== null ? [{ bound: 'time_window_end', exp: Math.floor(window.endsAtMs / 1000) }] : []),
  ];
  const narrowed = narrowScopes(request.scopes, tool, allowed, subject.scopes);
  const base = {
    agent: { client_id: agent.clientId, status: input.override?.status ?? agent.status, allowed_scopes: allowed },
    tool: { id: tool.id, resource: tool.resource },
    user: { iss: subject.iss, sub: subject.sub, scopes: subject.scopes, exp: subject.exp },
    window: { windows: tool.timeWindows.length, inside: window.inside, ...(window.inside && window.endsAtMs !== null ? { ends_at: new Date(window.endsAtMs).toISOString() } : {}) },
    rate_limits: {
      ...(deps.rateLimits?.perAgent ? { per_agent: { limit: deps.rateLimits.perAgent.limit, window_ms: deps.rateLimits.perAgent.windowMs } } : {}),
      ...(deps.rateLimits?.perAgentTool ? { per_agent_tool: { limit: deps.rateLimits.perAgentTool.limit, window_ms: deps.rateLimits.perAgentTool.windowMs } } : {}),
    },
    token_minted: false as const,
  };
  const denied = (denial: Denial, extra: Partial<ExplainTrace> = {}): ExplainTrace => ({
    ...base,
    verdict: 'denied', reason: denial.reason, error: denial.error, description: denial.description,
    scopes: scopeTraces(input, new Set(narrowed.granted), new Map(narrowed.dropped.map((d) => [d.scope, d.reason])), narrowed.requested),
    budget: [], approval: { required: false, scopes: [] },
    ...extra,
  });

  if (input.override) return denied({ decision: 'denied', reason: input.override.status === 'revoked' ? 'agent_revoked' : 'agent_suspended', error: input.override.status === 'revoked' ? 'invalid_client' : 'unauthorized_client', description: `agent is ${input.override.status}` });
  const run = await runExplainSteps({
    base: { policy: deps.policy, now: () => nowMs, agentStatus: deps.agentStatus, agents: deps.agents },
    guardrails: deps.guardrails, ...(deps.approvals ? { approvals: deps.approvals } : {}),
  }, { agent, tool, subject, scopes: input.scopes, ...(input.rawDetails !== undefined ? { rawDetails: input.rawDetails } : {}) });
  const { facts, refusal } = run;
  const grant = facts.grant;
  if (grant === undefined) return denied(refusal?.denial ?? deny('internal_error', 'explain could not decide'));

  // The scopes as the last step that judged them left them (a refusal may carry its own narrowed view).
  const scopesAfter = refusal?.denial.scopes ?? grant.scopes;
  const scopes = scopeTraces(input, new Set(scopesAfter.granted), new Map(scopesAfter.dropped.map((d) => [d.scope, d.reason])), scopesAfter.requested);
  const budget = run.counters.map((c) => ({
    budget: budgetName(agent.clientId, c.counter.scope), metric: c.counter.metric, limit: c.limit, used: c.used, would_add: c.counter.add, room: c.used + c.counter.add <= c.limit,
  }));
  const lifetime = { won: grant.lifetimeBoundBy, expires_in: grant.exp - grant.iat, candidates };
  const agentTrace = { ...base.agent, ...(facts.stage !== undefined ? { stage: facts.stage } : {}) };
  // Why a person would be asked: the gate's triggers (the same pure rule), also when the action is undescribed.
  const triggers = run.triggers ?? (facts.tool ? approvalTriggers(facts.tool, grant.scopes.granted, undefined) : []);
  const approval = {
    required: triggers.length > 0,
    scopes: triggers.flatMap((t) => (t.kind === 'scope' ? [t.scope] : [])),
    ...(triggers.length > 0 ? { why: triggers.map(describeTrigger) } : {}),
  };
  if (refusal === undefined) {
    return { ...base, agent: agentTrace, verdict: 'granted', reason: 'granted', scopes, lifetime, budget, approval };
  }
  const { denial } = refusal;
  const verdict = denial.reason === 'stage_shadow' ? 'shadow' : denial.reason === 'approval_pending' ? 'approval_required' : 'denied';
  return {
    ...base, agent: agentTrace, verdict, reason: denial.reason, error: denial.error, description: denial.description,
    scopes, lifetime, budget,
    ...(facts.budget ? { budget_exceeded: `${facts.budget.name} ${facts.budget.metric}` } : {}),
    approval,
  };
}
