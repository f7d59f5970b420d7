/**
 * Issue 18: rollout stages and budgets (src/guardrails/), approvals bound to the exact action
 * (src/guardrails/approvals/), and their admin routes (budgets, stages, reports, explain).
 */
import type { AdminActions } from '../../admin/admin-actions.js';
import type { QueryFilter } from '../../attribution/query.js';
import { recordSourceFor } from '../../attribution/record-source.js';
import { createApprovals, type Approvals } from '../../guardrails/approvals/create-approvals.js';
import { buildGuardrails, type BuiltGuardrails } from '../../guardrails/build-guardrails.js';
import { createGuardrailActions } from '../../guardrails/admin/guardrail-actions.js';
import { guardrailRouter } from '../../guardrails/admin/guardrail-routes.js';
import { createExplainHandler } from '../../guardrails/explain/explain-request.js';
import type { Provider } from '../../provider/oidc-provider.js';
import type { AgentStatusView } from '../../state/agent-status.js';
import type { IncomingTokenVerifier } from '../../subject-token/verify-incoming-token.js';
import type { AdminAuthenticate } from './admin.js';
import type { WiringContext } from './context.js';

/** `actions` is read late: suspensions go through the admin actions, which are built after the guardrails. */
export function createGuardrailFeatures({ deps, config, log, now, state, live }: WiringContext, actions: () => AdminActions) {
  const guardrails = buildGuardrails({
    state, sink: deps.sink, log, now, actions,
    ...(config.redis?.propagationWindowMs !== undefined ? { propagationWindowMs: config.redis.propagationWindowMs } : {}),
    ...(deps.budgetNotifier ? { notify: deps.budgetNotifier } : {}),
  });
  // The approval store is where the state is.
  const approvals = createApprovals({
    state, catalog: () => live.catalog(), issuer: config.issuer, now, log,
    record: (record) => deps.sink.append(record), options: deps.approvals ?? {},
  });
  return { guardrails, approvals };
}

export function mountGuardrailRoutes(provider: Provider, ctx: WiringContext, parts: {
  readonly guardrails: BuiltGuardrails;
  readonly verifier: IncomingTokenVerifier;
  readonly adminAuthenticate: AdminAuthenticate;
  readonly agentStatus: AgentStatusView;
  readonly approvals: Approvals;
}): void {
  const { deps, config, now, state, live } = ctx;
  const { guardrails, verifier, adminAuthenticate, agentStatus, approvals } = parts;
  const records = recordSourceFor(config, state);
  // Budgets, stages, reports and explain: their own router, the same admin keys.
  const guardrailRoutes = guardrailRouter({
    actions: createGuardrailActions({ agents: () => live.agents(), budgets: guardrails.budgets, stages: guardrails.stages, record: (record) => deps.sink.append(record), now }),
    authenticate: adminAuthenticate,
    // The file chain or the Redis sink's streams, as the audit route and the console read them.
    ...(records ? { records: (filter: QueryFilter) => records.query(filter) } : {}),
    explain: createExplainHandler({
      agents: () => live.agents(), catalog: () => live.catalog(), verifier, now,
      policy: { brokerIssuer: config.issuer, maxDelegationDepth: config.maxDelegationDepth },
      guardrails: guardrails.guardrails,
      agentOverride: (clientId) => state.agentOverride(clientId),
      agentStatus, approvals: approvals.gate, // explain runs /token's steps (explain-steps.ts)
      ...(config.rateLimits ? { rateLimits: config.rateLimits } : {}),
    }),
  });
  provider.use(guardrailRoutes.routes());
}
