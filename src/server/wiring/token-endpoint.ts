/**
 * `POST /token` (RFC 8693): the per-source limit in front of client authentication and the aggregation of
 * unauthenticated denials (issue 14 item 5), the exchange's duration and span (issue 19), and the token
 * endpoint's pipeline (src/token-endpoint/token-steps.ts) with everything its steps read.
 */
import type { ExchangeRecord } from '../../attribution/record.js';
import type { AgentSecretChecker } from '../../auth/agent-secret-guard.js';
import type { BuiltGuardrails } from '../../guardrails/build-guardrails.js';
import type { Approvals } from '../../guardrails/approvals/create-approvals.js';
import { exchangeSignals, tracingRecordObserver } from '../../observability/exchange-signals.js';
import type { StepObserver } from '../../observability/step-observer.js';
import type { Tracer } from '@opentelemetry/api';
import { providerReplayCache } from '../../provider/assertion-replay.js';
import { ROUTES } from '../../provider/build-provider.js';
import type { Provider } from '../../provider/oidc-provider.js';
import type { AgentStatusView } from '../../state/agent-status.js';
import type { IncomingTokenVerifier } from '../../subject-token/verify-incoming-token.js';
import { createSourceLimiter } from '../../token-endpoint/source-limit.js';
import { tokenEndpoint } from '../../token-endpoint/token-endpoint.js';
import { createUnauthenticatedDenials } from '../../token-endpoint/unauthenticated-denials.js';
import { createOnwardDeps } from '../../upstream/onward/onward-deps.js';
import type { WiringContext } from './context.js';

/** Issue 14 item 5: a per-address limit before client authentication, and unauthenticated denials aggregated. */
export function createSourceGuards({ deps, config, log, now, state, metrics }: WiringContext) {
  const perSource = config.rateLimits?.perSource;
  const sourceLimiter = perSource
    ? createSourceLimiter({ limit: perSource, state, onStateUnavailable: (err) => { log.debug({ err }, 'per-source limit: shared state unavailable, counting locally'); } })
    : undefined;
  const intervalMs = config.attribution.unauthenticatedIntervalMs;
  const unauthenticated = intervalMs === undefined ? undefined : metrics.countingUnattributed(createUnauthenticatedDenials({ sink: deps.sink, log, now, intervalMs }));
  return { sourceLimiter, unauthenticated };
}

export function mountTokenEndpoint(provider: Provider, ctx: WiringContext, parts: {
  readonly tracer: Tracer | undefined;
  readonly steps: StepObserver;
  readonly sourceGuards: ReturnType<typeof createSourceGuards>;
  readonly secretChecker: AgentSecretChecker;
  readonly agentStatus: AgentStatusView;
  readonly verifier: IncomingTokenVerifier;
  readonly guardrails: BuiltGuardrails;
  readonly approvals: Approvals;
  readonly observe: ((record: ExchangeRecord) => void) | undefined;
}): TokenRoute {
  const { deps, config, log, now, state, live, metrics } = ctx;
  const { tracer, steps, secretChecker, agentStatus, verifier, guardrails, approvals, observe } = parts;
  const { sourceLimiter, unauthenticated } = parts.sourceGuards;
  const countExchange = metrics.exchangeObserver({ tools: () => live.catalog().tools, agents: () => live.agents().agents });
  // Issue 19: the exchange's duration and span around the pipeline; every written record counted (and, traced, on its span).
  provider.use(exchangeSignals({ tokenPath: ROUTES.token, metrics, tracer }));
  const spanRecord = tracer ? tracingRecordObserver() : undefined;
  const tokenRoute = tokenEndpoint({
    tokenPath: ROUTES.token, issuer: config.issuer, sink: deps.sink, log, now,
    observe: (record) => { countExchange(record); spanRecord?.(record); observe?.(record); }, ...(unauthenticated ? { unauthenticated } : {}),
    pipeline: {
      now, issuer: config.issuer, tokenEndpoint: `${config.issuer}${ROUTES.token}`, clockSkewSeconds: config.clockSkewSeconds,
      ...(sourceLimiter ? { sourceLimiter } : {}),
      maxBodyBytes: config.limits.maxBodyBytes,
      agents: live.agents, secrets: secretChecker, assertionReplay: providerReplayCache(provider),
      agentStatus,
      limits: config.limits,
      catalog: live.catalog,
      state, ...(config.rateLimits ? { rateLimits: config.rateLimits } : {}),
      verifier,
      policy: { brokerIssuer: config.issuer, maxDelegationDepth: config.maxDelegationDepth },
      signingKey: () => deps.keys.active,
      // Issue 17: tool identities' onward exchange (steps/onward.ts, src/upstream/onward/).
      onward: createOnwardDeps({ config, catalog: () => live.catalog(), keys: deps.keys, state, now, log, ...deps.upstream }),
      guardrails: guardrails.guardrails,
      approvals: approvals.gate,
    },
    hooks: {
      ...deps.tokenHooks,
      onStep: (step, durationMs, outcome) => { steps.onStep(step, durationMs, outcome); },
      onError: (step, err) => { log.error({ err, step }, 'token endpoint step failed'); deps.tokenHooks?.onError?.(step, err); },
    },
  });
  provider.use(tokenRoute);
  // The same handler serves POST /token from node:http in front of the app (token-endpoint/fast-path.ts).
  return tokenRoute;
}

export type TokenRoute = ReturnType<typeof tokenEndpoint>;
