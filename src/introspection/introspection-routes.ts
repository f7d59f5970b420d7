/**
 * What downstream services (validators) call: RFC 7662 introspection of broker tokens, and the revocation
 * feed that lets a validator reject revoked tokens locally without a call per request.
 *   POST /introspect               form `token=...` -> {active:false} | the token's claims
 *   GET  /revocations/feed?cursor  pull: {revocations (when no cursor), events, cursor}
 *   GET  /revocations/stream       server-sent events: `snapshot`, then `revocation` / `agent_status`,
 *                                  and a `heartbeat` every second (a validator that misses heartbeats
 *                                  for longer than its grace must fail closed)
 * Callers authenticate with a validator key (or an admin key): `Authorization: Bearer <id>.<secret>`.
 */
import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import { isRevokedBy, type SharedState, type StateEvent } from '../state/shared-state.js';
import { BodyError, readBody } from '../http/read-body.js';
import type { JWTPayload } from 'jose';

export interface ValidatorRoutesDeps {
  readonly state: SharedState;
  readonly verify: (token: string, nowMs: number) => Promise<JWTPayload | undefined>;
  readonly authenticate: (authorization: string | undefined) => Promise<string | undefined>;
  readonly now: () => number;
  /** How often the stream polls the shared state for new events. */
  readonly pollMs?: number;
  readonly heartbeatMs?: number;
}

const INTROSPECTION_CLAIMS = ['iss', 'sub', 'aud', 'client_id', 'scope', 'act', 'tool', 'exp', 'iat', 'jti', 'cnf'] as const;

async function introspect(deps: ValidatorRoutesDeps, token: string): Promise<Record<string, unknown>> {
  const nowMs = deps.now();
  const payload = await deps.verify(token, nowMs);
  if (!payload) return { active: false };
  // Revocations are read from the shared state: if it cannot be read, the token is not reported active.
  const rules = await deps.state.listRevocations();
  if (rules.some((rule) => isRevokedBy(payload, rule))) return { active: false };
  // RFC 9449 §6.2: a DPoP-bound token is introspected with its `cnf.jkt` and token_type DPoP.
  const out: Record<string, unknown> = { active: true, token_type: payload.cnf !== undefined ? 'DPoP' : 'Bearer' };
  for (const claim of INTROSPECTION_CLAIMS) if (payload[claim] !== undefined) out[claim] = payload[claim];
  return out;
}

function sse(stream: PassThrough, event: string, data: unknown, id?: string): void {
  stream.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export function validatorRouter(deps: ValidatorRoutesDeps): Router {
  const router = new Router();

  const authenticated = async (ctx: Context): Promise<boolean> => {
    ctx.set('Cache-Control', 'no-store');
    if ((await deps.authenticate(ctx.get('authorization') || undefined)) !== undefined) return true;
    ctx.status = 401;
    ctx.set('WWW-Authenticate', 'Bearer realm="validators"');
    ctx.body = { error: 'invalid_client', error_description: 'a validator key is required' };
    return false;
  };

  router.post('/introspect', async (ctx) => {
    if (!(await authenticated(ctx))) return;
    ctx.set('Pragma', 'no-cache');
    if (!ctx.is('application/x-www-form-urlencoded')) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'the body must be application/x-www-form-urlencoded' };
      return;
    }
    let params: URLSearchParams;
    try {
      params = new URLSearchParams(await readBody(ctx, 32 * 1024));
    } catch (err) {
      ctx.status = err instanceof BodyError ? err.status : 400;
      ctx.body = { error: 'invalid_request', error_description: 'the body cannot be read' };
      return;
    }
    const tokens = params.getAll('token');
    if (tokens.length !== 1 || tokens[0] === '') {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'exactly one token parameter is required' };
      return;
    }
    try {
      ctx.body = await introspect(deps, tokens[0] ?? '');
    } catch {
      ctx.status = 503;
      ctx.body = { error: 'temporarily_unavailable', error_description: 'revocation state is unavailable' };
    }
  });

  router.get('/revocations/feed', async (ctx) => {
    if (!(await authenticated(ctx))) return;
    const cursor = typeof ctx.query.cursor === 'string' && ctx.query.cursor !== '' ? ctx.query.cursor : undefined;
    try {
      const events = await deps.state.eventsSince(cursor);
      const next = events.at(-1)?.cursor ?? cursor ?? null;
      ctx.body = cursor === undefined
        ? { revocations: await deps.state.listRevocations(), events: [], cursor: next, time: deps.now() }
        : { events, cursor: next, time: deps.now() };
    } catch {
      ctx.status = 503;
      ctx.body = { error: 'temporarily_unavailable', error_description: 'revocation state is unavailable' };
    }
  });

  router.get('/revocations/stream', async (ctx) => {
    if (!(await authenticated(ctx))) return;
    const stream = new PassThrough();
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.type = 'text/event-stream';
    ctx.set('Connection', 'keep-alive');
    ctx.body = stream;
    let cursor: string | undefined;
    try {
      const initial = await deps.state.eventsSince(undefined, 100_000);
      cursor = initial.at(-1)?.cursor;
      sse(stream, 'snapshot', { revocations: await deps.state.listRevocations(), cursor: cursor ?? null, time: deps.now() }, cursor);
    } catch {
      sse(stream, 'unavailable', { time: deps.now() });
    }
    let polling = false;
    const poll = setInterval(() => {
      if (polling) return;
      polling = true;
      deps.state.eventsSince(cursor).then((events: StateEvent[]) => {
        for (const e of events) {
          cursor = e.cursor;
          sse(stream, e.type, e, e.cursor);
        }
      }, () => {
        // The validator notices the missing heartbeats and fails closed after its grace.
      }).finally(() => { polling = false; });
    }, deps.pollMs ?? 100);
    // Heartbeats only while the shared state answers: silence means "assume nothing".
    const heartbeat = setInterval(() => {
      deps.state.ping().then(() => { sse(stream, 'heartbeat', { time: deps.now(), cursor: cursor ?? null }); }, () => undefined);
    }, deps.heartbeatMs ?? 1000);
    const stop = () => {
      clearInterval(poll);
      clearInterval(heartbeat);
      stream.end();
    };
    ctx.req.on('close', stop);
    stream.on('error', stop);
  });

  return router;
}
