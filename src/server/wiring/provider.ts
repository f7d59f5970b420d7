/**
 * oidc-provider as the authorization-server core (src/provider/build-provider.ts): discovery, the JWKS and
 * the replay cache of client assertions; the agent-secret checker that /token and /revoke share; the central
 * error handler; and the HTTP error events.
 */
import { TOKEN_EXCHANGE_GRANT } from '../../domain/exchange.js';
import { brokerErrorHandler } from '../../http/error-handler.js';
import { buildProvider, createAgentSecretChecker } from '../../provider/build-provider.js';
import { errors } from '../../provider/oidc-provider.js';
import { redisAdapter } from '../../provider/redis-adapter.js';
import { RedisState } from '../../state/redis-state.js';
import { TOKEN_EXCHANGE_PARAMETERS, TOKEN_EXCHANGE_REPEATABLE } from '../../token-endpoint/steps/parse.js';
import type { WiringContext } from './context.js';

export function wireProvider({ deps, config, log, state }: WiringContext) {
  // One agent-secret checker (verified-secret cache, failure throttle, hash gate) for /token and /revoke.
  const secretChecker = createAgentSecretChecker({
    state,
    ...(config.secretChecks ? { secretChecks: config.secretChecks } : {}),
    onThrottleStateError: (err) => { log.warn({ err }, 'failed secret checks counted locally: shared state unavailable'); },
  });
  const provider = buildProvider({
    issuer: config.issuer,
    keys: deps.keys,
    clockSkewSeconds: config.clockSkewSeconds,
    // The replay cache of client assertions lives where the shared state does.
    ...(deps.adapter
      ? { adapter: deps.adapter }
      : state instanceof RedisState ? { adapter: redisAdapter(state.redis, state.prefix) } : {}),
  });
  // Issue 16 item 2: one central error handler in front of every route the broker adds (src/http/error-handler.ts).
  provider.use(brokerErrorHandler({ log }));
  // Registered for discovery only (RFC 8414 `grant_types_supported`): token requests never reach
  // oidc-provider, the token endpoint's pipeline answers every one of them.
  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, () => {
    throw new errors.UnsupportedGrantType();
  }, TOKEN_EXCHANGE_PARAMETERS, TOKEN_EXCHANGE_REPEATABLE);
  // Koa reports response-stream errors here (e.g. a validator closing its feed connection).
  (provider as unknown as NodeJS.EventEmitter).on('error', (err: Error & { code?: string }) => {
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET') log.debug({ err }, 'client went away');
    else log.error({ err }, 'http error');
  });
  provider.on('server_error', (ctx, err) => {
    log.error({ err, path: ctx.path }, 'internal error');
  });
  return { secretChecker, provider };
}
