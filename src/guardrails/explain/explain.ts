/**
 * Explain (issue 18 §4): the full decision trace of an exchange that is never made. It runs the decision
 * core (`decide`, the same function the token endpoint runs) and then the guardrail steps in dry-run mode
 * (the stage, and the budgets peeked, never reserved), and lays out why: each scope kept or dropped and
 * why, the lifetime bound that won among all candidates, the time window, the configured rate limits, the
 * budget counters, and whether a person's approval is needed. No token is minted and nothing is counted.
 */
import type { ActionDetail } from '../../domain/authorization-details.js';
import type { Agent } from '../../domain/agent.js';
import type { BrokerConfig } from '../../domain/broker-config.js';
import type { Tool } from '../../domain/catalog.js';
import { TOKEN_TYPE, type ExchangeRequest, type SubjectClaims } from '../../domain/exchange.js';
import { decide, type ExchangePolicy } from '../../exchange/decide.js';
import { narrowScopes } from '../../exchange/narrow-scopes.js';
import { isDenial, type Denial } from '../../exchange/reasons.js';
import { currentWindow } from '../../exchange/time-windows.js';
import { budgetName } from '../budgets/budget-plan.js';
import type { Guardrails } from '../guardrail-step.js';

export interface ExplainInput {
  readonly agent: Agent;
  readonly tool: Tool;
  readonly scopes: readonly string[];
  /** The verified user (from a token), or claims given for a dry run. */
  readonly subject: SubjectClaims;
  readonly details: readonly ActionDetail[];
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
  readonly approval: { readonly required: boolean; readonly scopes: readonly string[] };
  readonly token_minted: false;
}

export interface ExplainDeps {
  readonly policy: ExchangePolicy;
  readonly guardrails: Guardrails;
  readonly rateLimits?: BrokerConfig['rateLimits'];
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
  const decision = decide({ request, agent, tool, subject, policy: deps.policy, nowMs });
  if (isDenial(decision)) return denied(decision);

  const guarded = await deps.guardrails.check({ agent, grant: decision, details: input.details, requestId: 'explain', callerAddress: 'explain', nowMs }, 'dry_run');
  const scopesAfter = guarded.kind === 'mint' ? guarded.grant.scopes : guarded.denial.scopes ?? decision.scopes;
  const scopes = scopeTraces(input, new Set(scopesAfter.granted), new Map(scopesAfter.dropped.map((d) => [d.scope, d.reason])), scopesAfter.requested);
  const budget = guarded.counters.map((c) => ({
    budget: budgetName(agent.clientId, c.counter.scope), metric: c.counter.metric, limit: c.limit, used: c.used, would_add: c.counter.add, room: c.used + c.counter.add <= c.limit,
  }));
  const lifetime = { won: decision.lifetimeBoundBy, expires_in: decision.exp - decision.iat, candidates };
  const stage = guarded.stage === 'autonomous' ? {} : { stage: guarded.stage };
  const agentTrace = { ...base.agent, ...stage };
  if (guarded.kind === 'mint') {
    return { ...base, agent: agentTrace, verdict: 'granted', reason: 'granted', scopes, lifetime, budget, approval: { required: false, scopes: [] } };
  }
  const verdict = guarded.denial.reason === 'stage_shadow' ? 'shadow' : guarded.denial.reason === 'stage_approval_required' ? 'approval_required' : 'denied';
  return {
    ...base, agent: agentTrace, verdict, reason: guarded.denial.reason, error: guarded.denial.error, description: guarded.denial.description,
    scopes, lifetime, budget,
    ...(guarded.budget ? { budget_exceeded: `${guarded.budget.name} ${guarded.budget.metric}` } : {}),
    approval: { required: guarded.approvalRequired !== undefined, scopes: guarded.approvalRequired ?? [] },
  };
}
