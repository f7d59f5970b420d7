/**
 * What downstream services (validators) call: RFC 7662 introspection of broker tokens, and the revocation
 * feed that lets a validator reject revoked tokens locally without a call per request.
 *   POST /introspect               form `token=...` -> {active:false} | the token's claims
 *   GET  /revocations/feed?cursor  pull (revocation/feed/feed-routes.ts)
 *   GET  /revocations/stream       server-sent events: a complete snapshot, then `revocation` events and a
 *                                  `heartbeat` every second (a validator that misses heartbeats for longer
 *                                  than its grace must fail closed)
 * Callers are authenticated by a ValidatorAuthenticator; what they see follows from who they are (least
 * disclosure: a caller scoped to some resources introspects only tokens for them).
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { JWTPayload } from 'jose';
import { candidateRuleIds, isRevokedBy, type SharedState } from '../state/shared-state.js';
import { BrokerError, refuse } from '../errors/broker-errors.js';
import { renderBrokerError, setNoStore } from '../http/oauth-error.js';
import { readBody } from '../http/read-body.js';
import type { ValidatorAuthenticator, ValidatorCaller } from './validator-caller.js';
import { FeedHub, type FeedHubOptions } from '../revocation/feed/feed-hub.js';
import { openStream, pullFeed } from '../revocation/feed/feed-routes.js';

export interface ValidatorRoutesDeps {
  readonly state: SharedState;
  readonly verify: (token: string, nowMs: number) => Promise<JWTPayload | undefined>;
  readonly authenticate: ValidatorAuthenticator;
  readonly now: () => number;
  /** How often the stream polls the shared state for new events (one poll per replica). */
  readonly pollMs?: number;
  readonly heartbeatMs?: number;
  /** Subscription caps and per-subscriber bounds (feed-hub.ts). */
  readonly feed?: Omit<FeedHubOptions, 'state' | 'now' | 'pollMs' | 'heartbeatMs'>;
}

/** An introspection request is one token and a client assertion or secret at most. */
const MAX_BODY_BYTES = 32 * 1024;

const INTROSPECTION_CLAIMS = ['iss', 'sub', 'aud', 'client_id', 'scope', 'act', 'tool', 'exp', 'iat', 'jti', 'cnf'] as const;

function audiences(payload: JWTPayload): string[] {
  return typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
}

async function introspect(deps: ValidatorRoutesDeps, caller: ValidatorCaller, token: string): Promise<Record<string, unknown>> {
  const nowMs = deps.now();
  const payload = await deps.verify(token, nowMs);
  if (!payload) return { active: false };
  // Least disclosure: a caller scoped to resources learns nothing about other resources' tokens.
  if (caller.resources && !audiences(payload).some((aud) => caller.resources?.has(aud))) return { active: false };
  // The rules that could cover this token, by key (jti, every agent in the chain, user, tool): one lookup,
  // always current. If the state cannot be read, the token is not reported active (503).
  const rules = await deps.state.revocationsByIds(candidateRuleIds(payload));
  if (rules.some((rule) => isRevokedBy(payload, rule))) return { active: false };
  // RFC 9449 §6.2: a DPoP-bound token is introspected with its `cnf.jkt` and token_type DPoP.
  const out: Record<string, unknown> = { active: true, token_type: payload.cnf !== undefined ? 'DPoP' : 'Bearer' };
  for (const claim of INTROSPECTION_CLAIMS) if (payload[claim] !== undefined) out[claim] = payload[claim];
  return out;
}

export interface ValidatorRouter {
  readonly router: Router;
  /** The revocation feed's fan-out (its subscriber count is a metric). */
  readonly hub: { readonly size: number };
  /** Ends every feed subscription and stops polling. */
  close(): void;
}

export function createValidatorRoutes(deps: ValidatorRoutesDeps): ValidatorRouter {
  const router = new Router();
  const hub = new FeedHub({ state: deps.state, now: deps.now, ...deps.feed, ...(deps.pollMs ? { pollMs: deps.pollMs } : {}), ...(deps.heartbeatMs ? { heartbeatMs: deps.heartbeatMs } : {}) });

  const authenticated = async (ctx: Context, form?: URLSearchParams): Promise<ValidatorCaller | undefined> => {
    setNoStore(ctx);
    const caller = await deps.authenticate({ authorization: ctx.get('authorization') || undefined, ...(form ? { form } : {}), callerAddress: ctx.ip });
    if (caller === undefined) renderBrokerError(ctx, 'validator_unauthorized');
    return caller;
  };

  router.post('/introspect', async (ctx) => {
    setNoStore(ctx);
    if (!ctx.is('application/x-www-form-urlencoded')) {
      if (!(await authenticated(ctx))) return;
      renderBrokerError(ctx, 'invalid_request', 'the body must be application/x-www-form-urlencoded');
      return;
    }
    let params: URLSearchParams;
    try {
      params = new URLSearchParams(await readBody(ctx, MAX_BODY_BYTES));
    } catch (err) {
      renderBrokerError(ctx, err instanceof BrokerError ? err : refuse('invalid_request', 'the body cannot be read'));
      return;
    }
    const caller = await authenticated(ctx, params);
    if (!caller) return;
    const tokens = params.getAll('token');
    if (tokens.length !== 1 || tokens[0] === '') {
      renderBrokerError(ctx, 'invalid_request', 'exactly one token parameter is required');
      return;
    }
    try {
      ctx.body = await introspect(deps, caller, tokens[0] ?? '');
    } catch (err) {
      // Fail closed: a token whose revocation status cannot be read is never reported active (RFC 7662 §2.2 leaves it to us).
      renderBrokerError(ctx, new BrokerError('state_unavailable', undefined, { cause: err, description: 'revocation state is unavailable' }));
    }
  });

  router.get('/revocations/feed', async (ctx) => {
    if (!(await authenticated(ctx))) return;
    await pullFeed(ctx, { state: deps.state, now: deps.now, hub });
  });

  router.get('/revocations/stream', async (ctx) => {
    const caller = await authenticated(ctx);
    if (!caller) return;
    openStream(ctx, { state: deps.state, now: deps.now, hub }, caller.id);
  });

  return { router, hub, close: () => { hub.close(); } };
}

/** The routes alone (callers that manage no lifecycle). */
export function validatorRouter(deps: ValidatorRoutesDeps): Router {
  return createValidatorRoutes(deps).router;
}
