/**
 * Assembles one broker: oidc-provider (discovery, JWKS, the client registry, client authentication at
 * `/revoke`), the token endpoint's pipeline (src/token-endpoint/token-steps.ts) in front of its router, and
 * the broker's own routes (RFC 8414 metadata alias, health).
 */
import Router from '@koa/router';
import type { AgentRegistry } from '../domain/agent.js';
import type { BrokerConfig } from '../domain/broker-config.js';
import type { Catalog } from '../domain/catalog.js';
import { TOKEN_EXCHANGE_GRANT } from '../domain/exchange.js';
import type { AttributionSink } from '../attribution/sink.js';
import type { SigningKeys } from '../keys/signing-keys.js';
import type { Logger } from '../log.js';
import { buildProvider, createAgentSecretChecker, ROUTES } from '../provider/build-provider.js';
import { errors, type Configuration, type Provider } from '../provider/oidc-provider.js';
import { providerReplayCache } from '../provider/assertion-replay.js';
import { createAdminActions } from '../admin/admin-actions.js';
import { createAdminAuthenticator } from '../admin/admin-auth.js';
import { adminRouter } from '../admin/admin-routes.js';
import { FailureLedger } from '../auth/failure-ledger.js';
import { createValidatorAuthenticator } from '../auth/validator-authenticator.js';
import { queryChain, type QueryFilter } from '../attribution/query.js';
import { createKillSwitch } from '../kill-switch/kill-switch.js';
import { resetWindowsOnReinstate, windowEpochsFor } from '../kill-switch/window-epochs.js';
import { createValidatorRoutes, type ValidatorRoutesDeps } from '../introspection/introspection-routes.js';
import { revocationEndpoint } from '../revocation/revocation-endpoint.js';
import { createBrokerTokenVerifier } from '../introspection/verify-broker-token.js';
import { MemoryState } from '../state/memory-state.js';
import { RedisState } from '../state/redis-state.js';
import { redisAdapter } from '../provider/redis-adapter.js';
import type { SharedState } from '../state/shared-state.js';
import { directAgentStatus } from '../state/agent-status.js';
import { AgentStatusMirror } from '../state/agent-status-mirror.js';
import { DEFAULT_PROPAGATION_WINDOW_MS } from '../config/redis-config.js';
import { TrustedIssuers } from '../subject-token/issuer-keys.js';
import { createIncomingTokenVerifier } from '../subject-token/verify-incoming-token.js';
import { tokenEndpoint } from '../token-endpoint/token-endpoint.js';
import type { RunnerHooks } from '../token-endpoint/pipeline/runner.js';
import { createSourceLimiter } from '../token-endpoint/source-limit.js';
import { createUnauthenticatedDenials } from '../token-endpoint/unauthenticated-denials.js';
import { withFastRefusal, type RequestHandler } from '../token-endpoint/fast-refusal.js';
import { FreeSpaceMonitor, type StatFs } from '../attribution/free-space.js';
import { TOKEN_EXCHANGE_PARAMETERS, TOKEN_EXCHANGE_REPEATABLE } from '../token-endpoint/steps/parse.js';
import { buildGuardrails } from '../guardrails/build-guardrails.js';
import type { BudgetNotifier } from '../guardrails/budgets/budget-notifier.js';
import { createGuardrailActions } from '../guardrails/admin/guardrail-actions.js';
import { guardrailRouter } from '../guardrails/admin/guardrail-routes.js';
import { createExplainHandler } from '../guardrails/explain/explain-request.js';
import { createApprovals, type ApprovalOptions, type Approvals } from '../guardrails/approvals/create-approvals.js';

export interface BrokerDeps {
  readonly config: BrokerConfig;
  readonly catalog: Catalog;
  readonly agents: AgentRegistry;
  readonly keys: SigningKeys;
  readonly sink: AttributionSink;
  readonly log: Logger;
  readonly now?: () => number;
  readonly adapter?: Configuration['adapter'];
  /** Shared state (suspensions, revocations); defaults to in-memory. */
  readonly state?: SharedState;
  /** Free-space measurement of the attribution disk (tests inject one); default statfs(2). */
  readonly statfs?: StatFs;
  /** Revocation feed caps and per-subscriber bounds (revocation/feed/feed-hub.ts); defaults otherwise. */
  readonly feed?: ValidatorRoutesDeps['feed'];
  /** `/revoke` calls per agent per window (default revocation-guard.ts). */
  readonly revokeRateLimit?: { readonly limit: number; readonly windowMs: number };
  /** Sources refused from memory answered in front of the app (fast-refusal.ts); default on, off to compare in tests. */
  readonly fastRefusal?: boolean;
  /** Issue 18: where budget webhooks go (tests observe them); default an HMAC-signed HTTP POST. */
  readonly budgetNotifier?: BudgetNotifier;
  /** Issue 18: approval settings that are not catalog data (the webhook secret, the polling interval). */
  readonly approvals?: ApprovalOptions;
  /** Per-step timings of the token endpoint's pipeline (metrics, tracing). */
  readonly tokenHooks?: RunnerHooks;
}

export interface Broker {
  readonly app: Provider;
  readonly issuer: string;
  readonly state: SharedState;
  /** Stops background work (the agent-status mirror's polling); the state itself is the caller's. */
  close(): void;
  /** Writes what is held in memory for the log (the open interval of unauthenticated denials); before the sink closes. */
  drain(): Promise<void>;
  /** The HTTP request handler to serve: the app, behind the fast refusal of sources refused from memory. */
  callback(): RequestHandler;
  /** Issue 18: the approval gate and its store. */
  readonly approvals: Approvals;
}

export function createBroker(deps: BrokerDeps): Broker {
  const { config, log } = deps;
  const now = deps.now ?? Date.now;
  const state = deps.state ?? new MemoryState();
  // One agent-secret checker (verified-secret cache, failure throttle, hash gate) for /token and /revoke.
  const secretChecker = createAgentSecretChecker({
    state,
    ...(config.secretChecks ? { secretChecks: config.secretChecks } : {}),
    onThrottleStateError: (err) => { log.warn({ err }, 'failed secret checks counted locally: shared state unavailable'); },
  });
  const provider = buildProvider({
    issuer: config.issuer,
    agents: [...deps.agents.agents.values()],
    keys: deps.keys,
    clockSkewSeconds: config.clockSkewSeconds,
    state,
    secretChecker,
    // The replay cache of client assertions lives where the shared state does.
    ...(deps.adapter
      ? { adapter: deps.adapter }
      : state instanceof RedisState ? { adapter: redisAdapter(state.redis, state.prefix) } : {}),
  });

  // With Redis, agent statuses are read from a local mirror fed by the event feed (agent-status-mirror.ts).
  const agentStatus = state.kind === 'redis'
    ? new AgentStatusMirror(state, { windowMs: config.redis?.propagationWindowMs ?? DEFAULT_PROPAGATION_WINDOW_MS })
    : directAgentStatus(state);

  const issuers = new TrustedIssuers(config.trustedIssuers, {
    timeoutMs: config.upstreamTimeoutMs,
    log,
    bounds: { ...(config.upstreamMaxBytes !== undefined ? { maxBytes: config.upstreamMaxBytes } : {}), ...(config.upstreamMaxKeys !== undefined ? { maxKeys: config.upstreamMaxKeys } : {}) },
  });
  // Registered for discovery only (RFC 8414 `grant_types_supported`): token requests never reach
  // oidc-provider, the pipeline below answers every one of them.
  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, () => {
    throw new errors.UnsupportedGrantType();
  }, TOKEN_EXCHANGE_PARAMETERS, TOKEN_EXCHANGE_REPEATABLE);
  const verifier = createIncomingTokenVerifier(issuers, {
    clockSkewSeconds: config.clockSkewSeconds,
    ...(config.verifiedTokenCacheEntries !== undefined ? { verifiedTokenCacheEntries: config.verifiedTokenCacheEntries } : {}),
  });
  // Issue 18: rollout stages and budgets (src/guardrails/); suspensions go through the admin actions below.
  const guardrails = buildGuardrails({
    state, sink: deps.sink, log, now, actions: () => actions,
    ...(deps.budgetNotifier ? { notify: deps.budgetNotifier } : {}),
  });
  // Issue 18: approvals bound to the exact action (src/guardrails/approvals/); the store is where the state is.
  const approvals = createApprovals({
    state, catalog: () => deps.catalog, issuer: config.issuer, now, log,
    record: (record) => deps.sink.append(record), options: deps.approvals ?? {},
  });

  // Koa reports response-stream errors here (e.g. a validator closing its feed connection).
  (provider as unknown as NodeJS.EventEmitter).on('error', (err: Error & { code?: string }) => {
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET') log.debug({ err }, 'client went away');
    else log.error({ err }, 'http error');
  });
  provider.on('server_error', (ctx, err) => {
    log.error({ err, path: ctx.path }, 'internal error');
  });

  const adminActions = createAdminActions({
    state,
    agents: () => deps.agents,
    catalog: () => deps.catalog,
    record: (record) => deps.sink.append(record),
    now,
    clockSkewSeconds: config.clockSkewSeconds,
  });
  // A reinstatement starts fresh kill-switch windows for the agent (kill-switch/window-epochs.ts).
  const epochs = config.killSwitch ? windowEpochsFor(state) : undefined;
  const actions = epochs ? resetWindowsOnReinstate(adminActions, epochs) : adminActions;
  const verifyBrokerToken = createBrokerTokenVerifier(config.issuer, deps.keys, config.clockSkewSeconds);
  const observe = config.killSwitch ? createKillSwitch({ config: config.killSwitch, state, actions, epochs: epochs ?? windowEpochsFor(state), log, now }) : undefined;
  provider.use(revocationEndpoint({
    path: ROUTES.revocation, verify: verifyBrokerToken, actions, log, now, state, agentStatus,
    record: (record) => deps.sink.append(record), ...(observe ? { observe } : {}),
    ...(deps.revokeRateLimit ?? config.revokeRateLimit ? { rateLimit: deps.revokeRateLimit ?? config.revokeRateLimit } : {}),
  }));
  // Issue 14 item 5: a per-address limit before client authentication, and unauthenticated denials aggregated.
  const perSource = config.rateLimits?.perSource;
  const sourceLimiter = perSource
    ? createSourceLimiter({ limit: perSource, state, onStateUnavailable: (err) => { log.debug({ err }, 'per-source limit: shared state unavailable, counting locally'); } })
    : undefined;
  const intervalMs = config.attribution.unauthenticatedIntervalMs;
  const unauthenticated = intervalMs === undefined ? undefined : createUnauthenticatedDenials({ sink: deps.sink, log, now, intervalMs });
  provider.use(tokenEndpoint({
    tokenPath: ROUTES.token, issuer: config.issuer, sink: deps.sink, log, now,
    ...(observe ? { observe } : {}), ...(unauthenticated ? { unauthenticated } : {}),
    pipeline: {
      now, issuer: config.issuer, tokenEndpoint: `${config.issuer}${ROUTES.token}`, clockSkewSeconds: config.clockSkewSeconds,
      ...(sourceLimiter ? { sourceLimiter } : {}),
      maxBodyBytes: config.limits.maxBodyBytes,
      agents: () => deps.agents, secrets: secretChecker, assertionReplay: providerReplayCache(provider),
      agentStatus,
      limits: config.limits,
      catalog: () => deps.catalog,
      state, ...(config.rateLimits ? { rateLimits: config.rateLimits } : {}),
      verifier,
      policy: { brokerIssuer: config.issuer, maxDelegationDepth: config.maxDelegationDepth },
      signingKey: () => deps.keys.active,
      guardrails: guardrails.guardrails,
      approvals: approvals.gate,
    },
    hooks: {
      ...deps.tokenHooks,
      onError: (step, err) => { log.error({ err, step }, 'token endpoint step failed'); deps.tokenHooks?.onError?.(step, err); },
    },
  }));
  const minFree = config.attribution.sink === 'redis' ? undefined : config.attribution.minFreeBytes;
  const disk = minFree === undefined ? undefined : new FreeSpaceMonitor({ file: config.attribution.file, minFreeBytes: minFree, log, ...(deps.statfs ? { statfs: deps.statfs } : {}) });

  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    // A named check of its own: the attribution disk (attribution/free-space.ts).
    const attributionDisk = await disk?.check();
    if (attributionDisk && !attributionDisk.ok) {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', state: state.kind, reason: attributionDisk.reason, checks: { attribution_disk: attributionDisk } };
      return;
    }
    try {
      await state.ping();
      await agentStatus.confirm();
      ctx.body = { status: 'ready', state: state.kind };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', state: state.kind, reason: 'shared state unreachable or agent-status mirror stale: no tokens are minted' };
    }
  });
  provider.use(router.routes());
  // Failed admin and validator authentications: one aggregated record per source and minute (issue 14 items 3, 5).
  const failures = new FailureLedger({ sink: deps.sink, log, now });
  const validatorAuthenticator = createValidatorAuthenticator({
    validatorKeys: config.validatorKeys,
    adminKeys: config.adminKeys,
    issuer: config.issuer,
    introspectionEndpoint: `${config.issuer}/introspect`,
    state,
    clockSkewSeconds: config.clockSkewSeconds,
    onFailure: (reason, address, id) => { failures.failed('validator', address, reason, id); },
    now,
  });
  const admin = adminRouter({
    actions,
    ...(config.attribution.sink === 'redis' ? {} : { audit: { query: (filter: QueryFilter) => queryChain(config.attribution.file, filter) } }),
    authenticate: createAdminAuthenticator(config.adminKeys, (reason, address, id) => { failures.failed('admin', address, reason, id); }),
  });
  provider.use(admin.routes());
  // Issue 18: budgets, stages, reports and explain: their own router, the same admin keys.
  const guardrailRoutes = guardrailRouter({
    actions: createGuardrailActions({ agents: () => deps.agents, budgets: guardrails.budgets, stages: guardrails.stages, record: (record) => deps.sink.append(record), now }),
    authenticate: createAdminAuthenticator(config.adminKeys, (reason, address, id) => { failures.failed('admin', address, reason, id); }),
    ...(config.attribution.sink === 'redis' ? {} : { records: (filter: QueryFilter) => queryChain(config.attribution.file, filter) }),
    explain: createExplainHandler({
      agents: () => deps.agents, catalog: () => deps.catalog, verifier, now,
      policy: { brokerIssuer: config.issuer, maxDelegationDepth: config.maxDelegationDepth },
      guardrails: guardrails.guardrails,
      agentOverride: (clientId) => state.agentOverride(clientId),
      ...(config.rateLimits ? { rateLimits: config.rateLimits } : {}),
    }),
  });
  provider.use(guardrailRoutes.routes());
  provider.use(approvals.routes(createAdminAuthenticator(config.adminKeys, (reason, address, id) => { failures.failed('admin', address, reason, id); })).routes());
  const validators = createValidatorRoutes({
    state,
    verify: verifyBrokerToken,
    authenticate: validatorAuthenticator,
    now,
    ...(deps.feed ?? config.revocationFeed ? { feed: { ...config.revocationFeed, ...deps.feed } } : {}),
  });
  provider.use(validators.router.routes());
  // RFC 8414 metadata: the same document oidc-provider serves as OpenID discovery.
  provider.use(async (ctx, next) => {
    if (ctx.path === '/.well-known/oauth-authorization-server') ctx.path = '/.well-known/openid-configuration';
    await next();
  });

  return {
    app: provider, issuer: config.issuer, state, approvals,
    close: () => { agentStatus.close(); validators.close(); disk?.close(); void failures.close(); },
    drain: async () => { await Promise.all([unauthenticated?.close(), failures.close(), approvals.gate.settled()]); },
    // Only with aggregation on: without it every denial has a record of its own, which the pipeline writes.
    callback: () => sourceLimiter && unauthenticated && deps.fastRefusal !== false
      ? withFastRefusal(provider.callback(), { tokenPath: ROUTES.token, limiter: sourceLimiter, unauthenticated, now })
      : provider.callback(),
  };
}
