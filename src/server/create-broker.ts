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
import { withTokenFastPath } from '../token-endpoint/fast-path.js';
import type { RunnerHooks } from '../token-endpoint/pipeline/runner.js';
import { createSourceLimiter } from '../token-endpoint/source-limit.js';
import { createUnauthenticatedDenials } from '../token-endpoint/unauthenticated-denials.js';
import { withFastRefusal, type RequestHandler } from '../token-endpoint/fast-refusal.js';
import { FreeSpaceMonitor, type StatFs } from '../attribution/free-space.js';
import { TOKEN_EXCHANGE_PARAMETERS, TOKEN_EXCHANGE_REPEATABLE } from '../token-endpoint/steps/parse.js';
import { brokerErrorHandler } from '../http/error-handler.js';
// Issue 19: metrics, tracing, hot reload (observability/, reload/).
import { BrokerMetrics, METRIC_NAMES } from '../observability/metrics/broker-metrics.js';
import { metricsRoute } from '../observability/metrics/metrics-route.js';
import { exchangeSignals, tracingRecordObserver, tracingStepObserver } from '../observability/exchange-signals.js';
import { fanOut, type StepObserver } from '../observability/step-observer.js';
import type { Tracing } from '../observability/tracing/tracing.js';
import { LiveConfig } from '../reload/live-config.js';
import { loadConfigSet, type ConfigSet } from '../reload/load-sets.js';
import { Reloader } from '../reload/reloader.js';
import { reloadRoutes } from '../reload/reload-routes.js';
import type { VaultFeature } from '../upstream/vault/vault-feature.js';
import { mountSignInAndConsole } from '../console/mount.js';
import type { SignIn } from '../sign-in/index.js';
import { createOnwardDeps, type OnwardSetup } from '../upstream/onward/onward-deps.js';
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
  /** POST /token answered in front of the app (token-endpoint/fast-path.ts); default on, off to compare in tests. */
  readonly tokenFastPath?: boolean;
  /** This broker's metrics (start-broker.ts passes the one its attribution sink reports to); default a fresh registry. */
  readonly metrics?: BrokerMetrics;
  /** Tracing (observability/tracing/tracing.ts); default off. */
  readonly tracing?: Tracing;
  /** Where a reload reads the new scopes/clients (default: config.catalogDir / clientsDir, reload/load-sets.ts). */
  readonly loadConfigSet?: () => Promise<ConfigSet>;
  /** Issue 18: where budget webhooks go (tests observe them); default an HMAC-signed HTTP POST. */
  readonly budgetNotifier?: BudgetNotifier;
  /** Issue 18: approval settings that are not catalog data (the webhook secret, the polling interval). */
  readonly approvals?: ApprovalOptions;
  /** Per-step timings of the token endpoint's pipeline (metrics, tracing). */
  readonly tokenHooks?: RunnerHooks;
  /** Issue 17: the `vault` connector kind (src/upstream/vault/vault-feature.ts): /connect routes, revocation hooks. */
  readonly vault?: VaultFeature;
  /** The sign-in client secret, read from its reference at start (config.signIn.clientSecret). */
  readonly signInClientSecret?: string;
  /** Issue 17: the vault connector kind and the upstream credential cache (tests inject them). */
  readonly upstream?: Pick<OnwardSetup, 'vault' | 'cache' | 'env'>;
}

export interface Broker {
  readonly app: Provider;
  readonly issuer: string;
  readonly state: SharedState;
  /** Person sign-in, when `sign_in` is configured (the console and `/connect` use it). */
  readonly signIn?: SignIn;
  /** Stops background work (the agent-status mirror's polling); the state itself is the caller's. */
  close(): void;
  /** Writes what is held in memory for the log (the open interval of unauthenticated denials); before the sink closes. */
  drain(): Promise<void>;
  /** The HTTP request handler to serve: the app, behind the fast refusal of sources refused from memory. */
  callback(): RequestHandler;
  /** `/metrics` (Prometheus) of this broker. */
  readonly metrics: BrokerMetrics;
  /** Hot reload of scopes/ and clients/ (SIGHUP, the file watch, POST /admin/config/reload). */
  readonly reloader: Reloader;
  /** Where the token-exchange pipeline reports each step (metrics and, when on, trace spans). */
  readonly steps: StepObserver;
  /** Issue 18: the approval gate and its store. */
  readonly approvals: Approvals;
}

export function createBroker(deps: BrokerDeps): Broker {
  const { config, log } = deps;
  const now = deps.now ?? Date.now;
  const state = deps.state ?? new MemoryState();
  // One reference to the catalog and agents in force, swapped whole by a reload (reload/live-config.ts).
  const live = new LiveConfig({ catalog: deps.catalog, agents: deps.agents }, now());
  const metrics = deps.metrics ?? new BrokerMetrics();
  const tracer = deps.tracing?.tracer;
  const tokenOnStep = deps.tokenHooks?.onStep;
  const steps = fanOut([metrics, tracer ? tracingStepObserver(tracer) : undefined, tokenOnStep ? { onStep: tokenOnStep } : undefined]);
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
    ? new AgentStatusMirror(state, {
      windowMs: config.redis?.propagationWindowMs ?? DEFAULT_PROPAGATION_WINDOW_MS,
      onApplied: (lagMs) => { metrics.revocationLag.observe(lagMs / 1000); },
      onPollError: () => { metrics.stateErrors.inc('agent_status_mirror'); },
    })
    : directAgentStatus(state);

  // Issue 16 item 2: one central error handler in front of every route the broker adds (src/http/error-handler.ts).
  provider.use(brokerErrorHandler({ log }));

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
    state, catalog: () => live.catalog(), issuer: config.issuer, now, log,
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
    agents: live.agents,
    catalog: live.catalog,
    record: (record) => deps.sink.append(record),
    now,
    clockSkewSeconds: config.clockSkewSeconds,
  });
  // A reinstatement starts fresh kill-switch windows for the agent (kill-switch/window-epochs.ts).
  const epochs = config.killSwitch ? windowEpochsFor(state) : undefined;
  const windowActions = epochs ? resetWindowsOnReinstate(adminActions, epochs) : adminActions;
  // Issue 17: revoking a user or an agent also deletes their SaaS connections (src/upstream/vault/vault-revocation.ts).
  const actions = deps.vault ? deps.vault.withRevocations(windowActions) : windowActions;
  const verifyBrokerToken = createBrokerTokenVerifier(config.issuer, deps.keys, config.clockSkewSeconds);
  const observe = config.killSwitch ? createKillSwitch({ config: config.killSwitch, state, actions, epochs: epochs ?? windowEpochsFor(state), log, now, onTrip: (trigger) => { metrics.killSwitchTripped(trigger); } }) : undefined;
  const countExchange = metrics.exchangeObserver({ tools: () => live.catalog().tools, agents: () => live.agents().agents });
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
  const unauthenticated = intervalMs === undefined ? undefined : metrics.countingUnattributed(createUnauthenticatedDenials({ sink: deps.sink, log, now, intervalMs }));
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
  const adminAuthenticate = createAdminAuthenticator(config.adminKeys, (reason, address, id) => { failures.failed('admin', address, reason, id); });
  const admin = adminRouter({
    actions,
    ...(config.attribution.sink === 'redis' ? {} : { audit: { query: (filter: QueryFilter) => queryChain(config.attribution.file, filter) } }),
    authenticate: adminAuthenticate,
  });
  const reloader = new Reloader({
    live, log, metrics, now, record: (record) => deps.sink.append(record),
    load: deps.loadConfigSet ?? (() => loadConfigSet(config, process.cwd())),
  });
  provider.use(metricsRoute(metrics, adminAuthenticate));
  provider.use(reloadRoutes(reloader, adminAuthenticate));
  provider.use(admin.routes());
  if (deps.vault) {
    // Issue 17: the consent flow (/connect/...) and the vault's re-encryption (POST /admin/vault/reencrypt).
    provider.use(deps.vault.routes());
    provider.use(deps.vault.adminRoutes(adminAuthenticate));
  }
  provider.use(approvals.routes(adminAuthenticate).routes());
  // Issue 18: budgets, stages, reports and explain: their own router, the same admin keys.
  const guardrailRoutes = guardrailRouter({
    actions: createGuardrailActions({ agents: () => live.agents(), budgets: guardrails.budgets, stages: guardrails.stages, record: (record) => deps.sink.append(record), now }),
    authenticate: adminAuthenticate,
    ...(config.attribution.sink === 'redis' ? {} : { records: (filter: QueryFilter) => queryChain(config.attribution.file, filter) }),
    explain: createExplainHandler({
      agents: () => live.agents(), catalog: () => live.catalog(), verifier, now,
      policy: { brokerIssuer: config.issuer, maxDelegationDepth: config.maxDelegationDepth },
      guardrails: guardrails.guardrails,
      agentOverride: (clientId) => state.agentOverride(clientId),
      ...(config.rateLimits ? { rateLimits: config.rateLimits } : {}),
    }),
  });
  provider.use(guardrailRoutes.routes());
  const validators = createValidatorRoutes({
    state,
    verify: verifyBrokerToken,
    authenticate: validatorAuthenticator,
    now,
    ...(deps.feed ?? config.revocationFeed ? { feed: { ...config.revocationFeed, ...deps.feed } } : {}),
  });
  provider.use(validators.router.routes());
  metrics.gauge(METRIC_NAMES.feedSubscribers, 'Validators subscribed to this replica\'s revocation feed', () => validators.hub.size);
  metrics.gauge(METRIC_NAMES.mirrorAge, 'Age of this replica\'s agent-status mirror (0 without Redis: statuses are read directly)',
    () => (agentStatus instanceof AgentStatusMirror ? Math.min(agentStatus.ageMs / 1000, 1e9) : 0));
  metrics.gauge(METRIC_NAMES.catalogTools, 'Tools in the catalog in force', () => live.catalog().tools.size);
  metrics.gauge(METRIC_NAMES.registeredAgents, 'Agents in the registry in force', () => live.agents().agents.size);
  // Issue 19: person sign-in and the operator console at /console (src/sign-in, src/console).
  const signIn = config.signIn ? mountSignInAndConsole(provider, {
    config, settings: config.signIn, state, actions, log, now, issuers, agentStatus, disk,
    agents: () => live.agents(), catalog: () => live.catalog(), keys: deps.keys,
    ...(deps.signInClientSecret !== undefined ? { clientSecret: deps.signInClientSecret } : {}),
  }) : undefined;
  // RFC 8414 metadata: the same document oidc-provider serves as OpenID discovery.
  provider.use(async (ctx, next) => {
    if (ctx.path === '/.well-known/oauth-authorization-server') ctx.path = '/.well-known/openid-configuration';
    await next();
  });

  return {
    app: provider, issuer: config.issuer, state, metrics, reloader, steps, approvals, ...(signIn ? { signIn } : {}),
    close: () => { agentStatus.close(); validators.close(); disk?.close(); void failures.close(); signIn?.close(); },
    drain: async () => { await Promise.all([unauthenticated?.close(), failures.close(), approvals.gate.settled()]); },
    // Only with aggregation on: without it every denial has a record of its own, which the pipeline writes.
    callback: () => {
      // POST /token answered from node:http (token-endpoint/fast-path.ts); with tracing on, through Koa and its span.
      const app = tracer || deps.tokenFastPath === false ? provider.callback() : withTokenFastPath(provider.callback(), { endpoint: tokenRoute, log, duration: metrics.exchangeDuration });
      return sourceLimiter && unauthenticated && deps.fastRefusal !== false ? withFastRefusal(app, { tokenPath: ROUTES.token, limiter: sourceLimiter, unauthenticated, now }) : app;
    },
  };
}
