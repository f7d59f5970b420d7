/**
 * Assembles one broker, feature by feature (src/server/wiring/): oidc-provider as the authorization-server
 * core (discovery, JWKS, the replay cache of client assertions), the token endpoint's pipeline
 * (src/token-endpoint/token-steps.ts), `/revoke`, the admin and validator surfaces, guardrails, signals,
 * health, and the console. The order of `provider.use` is the order requests meet them.
 */
import { createBrokerTokenVerifier } from '../introspection/verify-broker-token.js';
import { FailureLedger } from '../auth/failure-ledger.js';
import { MemoryState } from '../state/memory-state.js';
import { LiveConfig } from '../reload/live-config.js';
import { mountSignInAndConsole } from '../console/mount.js';
import { ROUTES } from '../provider/build-provider.js';
import { withFastRefusal } from '../token-endpoint/fast-refusal.js';
import { withTokenFastPath } from '../token-endpoint/fast-path.js';
import type { Broker, BrokerDeps } from './broker-deps.js';
import type { WiringContext } from './wiring/context.js';
import { wireProvider } from './wiring/provider.js';
import { createSignals, registerGauges } from './wiring/signals.js';
import { createAgentStatus } from './wiring/agent-status.js';
import { wireIssuers } from './wiring/upstream.js';
import { createGuardrailFeatures, mountGuardrailRoutes } from './wiring/guardrails.js';
import { createActions, createAdminAuthenticate, mountAdmin } from './wiring/admin.js';
import { mountRevocation } from './wiring/revocation.js';
import { createSourceGuards, mountTokenEndpoint } from './wiring/token-endpoint.js';
import { createDiskMonitor, mountHealth } from './wiring/health.js';
import { mountValidators } from './wiring/validators.js';

export type { Broker, BrokerDeps } from './broker-deps.js';

export function createBroker(deps: BrokerDeps): Broker {
  const { config, log } = deps;
  const now = deps.now ?? Date.now;
  const state = deps.state ?? new MemoryState();
  // One reference to the catalog and agents in force, swapped whole by a reload (reload/live-config.ts).
  const live = new LiveConfig({ catalog: deps.catalog, agents: deps.agents }, now());
  const { metrics, tracer, steps } = createSignals(deps);
  const wiring: WiringContext = { deps, config, log, now, state, live, metrics };
  const { secretChecker, provider } = wireProvider(wiring);
  const agentStatus = createAgentStatus(wiring);
  const { issuers, verifier } = wireIssuers(wiring);
  const { guardrails, approvals } = createGuardrailFeatures(wiring, () => actions);
  const { actions, observe } = createActions(wiring);
  const verifyBrokerToken = createBrokerTokenVerifier(config.issuer, deps.keys, config.clockSkewSeconds);

  // Failed admin, validator and /revoke authentications: one aggregated record per source and minute (issue 14 items 3, 5).
  const failures = new FailureLedger({ sink: deps.sink, log, now });
  mountRevocation(provider, wiring, { verifyBrokerToken, actions, agentStatus, observe, secretChecker, failures });
  const sourceGuards = createSourceGuards(wiring);
  const { sourceLimiter, unauthenticated } = sourceGuards;
  const tokenRoute = mountTokenEndpoint(provider, wiring, { tracer, steps, sourceGuards, secretChecker, agentStatus, verifier, guardrails, approvals, observe });
  const disk = createDiskMonitor(wiring);
  mountHealth(provider, wiring, { disk, agentStatus });
  const adminAuthenticate = createAdminAuthenticate(wiring, failures);
  const { reloader } = mountAdmin(provider, wiring, { actions, adminAuthenticate, approvals });
  mountGuardrailRoutes(provider, wiring, { guardrails, verifier, adminAuthenticate, agentStatus, approvals });
  const validators = mountValidators(provider, wiring, { failures, verifyBrokerToken, approvals });
  registerGauges(metrics, { live, agentStatus, feedSubscribers: () => validators.hub.size });
  // Issue 19: person sign-in and the operator console at /console (src/sign-in, src/console).
  const signIn = config.signIn ? mountSignInAndConsole(provider, {
    config, settings: config.signIn, state, actions, log, now, issuers, agentStatus, disk,
    agents: () => live.agents(), catalog: () => live.catalog(), keys: deps.keys,
    features: { reloader, approvals, guardrails, ...(deps.vault ? { vault: deps.vault } : {}), record: (record) => deps.sink.append(record) },
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
