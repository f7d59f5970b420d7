/** The admin API (`/admin/...`): suspend, reinstate and revoke agents; revoke tokens; list revocations. */
import { requestIdFrom } from '../http/request-id.js';
import { refuseUnmatchableRevocation } from '../revocation/revocation-target.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { QueryFilter } from '../attribution/query.js';
import { AttributionUnavailableError } from '../attribution/sink.js';
import { BrokerError, refuse } from '../errors/broker-errors.js';
import { renderBrokerError } from '../http/oauth-error.js';
import { readBody } from '../http/read-body.js';
import { StateUnavailableError } from '../state/shared-state.js';
import type { AdminActions, AgentAction } from './admin-actions.js';
import type { AdminCaller } from './admin-auth.js';

const MAX_BODY_BYTES = 16 * 1024;

async function readJson(ctx: Context): Promise<Record<string, unknown>> {
  if (!ctx.is('application/json')) throw refuse('invalid_request', 'the body must be application/json');
  const text = await readBody(ctx, MAX_BODY_BYTES);
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw refuse('invalid_request', 'the body must be a JSON object');
}

function reasonOf(body: Record<string, unknown>): string {
  const { reason } = body;
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 500) {
    throw refuse('invalid_request', 'a reason (1-500 characters) is required');
  }
  return reason.trim();
}

const AGENT_ACTIONS: ReadonlySet<string> = new Set(['suspend', 'reinstate', 'revoke']);
const TOKEN_KINDS: ReadonlySet<string> = new Set(['user', 'tool', 'token']);

export interface AuditSource {
  /** Records matching the filter, in order. */
  query(filter: QueryFilter): AsyncIterable<unknown>;
}

const FILTER_KEYS = ['agent', 'user', 'tool', 'decision', 'type', 'from', 'to'] as const;

/** `"override": true` acknowledges that the action changes what another operator (or the kill switch) did. */
function overrideOf(body: Record<string, unknown>): boolean {
  const { override } = body;
  if (override !== undefined && typeof override !== 'boolean') throw refuse('invalid_request', 'override must be true or false');
  return override === true;
}

/**
 * What a failed admin request is answered with. The record is written before the action is taken
 * (admin-actions.ts), so a sink failure means it was not taken; a shared-state failure may leave it half done.
 * An error outside the model is a fault: it goes on to the central handler (500 server_error, logged there).
 */
function adminFailure(err: unknown): BrokerError {
  if (err instanceof StateUnavailableError) {
    return new BrokerError('state_unavailable', err.message, { cause: err, description: 'shared state is unavailable; the action may not have taken effect: repeat it (repeating an action is safe)' });
  }
  if (err instanceof AttributionUnavailableError) {
    return new BrokerError('attribution_unavailable', err.message, { cause: err, description: 'the action could not be attributed or applied; retry' });
  }
  if (err instanceof BrokerError) return err;
  throw err;
}

export function adminRouter(opts: {
  actions: AdminActions;
  authenticate: (authorization: string | undefined, callerAddress: string) => Promise<AdminCaller | undefined>;
  audit?: AuditSource;
}): Router {
  const router = new Router({ prefix: '/admin' });

  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      const caller = await opts.authenticate(ctx.get('authorization') || undefined, ctx.ip);
      if (caller === undefined) throw refuse('admin_unauthorized');
      // A viewer reads; every state change (every non-GET) needs an operator (RFC 6750 §3.1: 403 insufficient_scope).
      if (caller.role !== 'operator' && ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        throw refuse('admin_forbidden', 'this admin key has the viewer role: changing state needs an operator key');
      }
      ctx.state.adminId = caller.id;
      await next();
    } catch (err) {
      renderBrokerError(ctx, adminFailure(err));
    }
  });

  const context = (ctx: Context, reason: string, override = false) => ({
    by: String(ctx.state.adminId),
    reason,
    override,
    requestId: requestIdFrom(ctx.get('x-request-id') || undefined),
    callerAddress: ctx.ip,
  });

  router.post('/agents/:id/:action', async (ctx) => {
    const { id, action } = ctx.params as { id: string; action: string };
    if (!AGENT_ACTIONS.has(action)) throw refuse('not_found', 'unknown action');
    const body = await readJson(ctx);
    const reason = reasonOf(body);
    const result = await opts.actions.agent(action as AgentAction, id, context(ctx, reason, overrideOf(body)));
    ctx.body = { agent: id, action, ...result };
  });

  router.post('/revocations', async (ctx) => {
    const body = await readJson(ctx);
    const { kind, value } = body;
    if (typeof kind !== 'string' || !TOKEN_KINDS.has(kind)) throw refuse('invalid_request', 'kind must be user, tool or token');
    if (typeof value !== 'string' || value === '' || value.length > 512) throw refuse('invalid_request', 'value is required');
    refuseUnmatchableRevocation(kind as 'user' | 'tool' | 'token', value);
    const revocation = await opts.actions.revoke(kind as 'user' | 'tool' | 'token', value, context(ctx, reasonOf(body)));
    ctx.status = 201;
    ctx.body = { revocation };
  });

  // "Everything agent X did for user Y between T1 and T2": newline-delimited JSON, in order.
  router.get('/audit', async (ctx) => {
    if (!opts.audit) throw refuse('not_implemented', 'querying is available for the file attribution sink');
    const filter: Record<string, string> = {};
    for (const key of FILTER_KEYS) {
      const value = ctx.query[key];
      if (typeof value === 'string' && value !== '') filter[key] = value;
    }
    if (filter.decision !== undefined && filter.decision !== 'granted' && filter.decision !== 'denied') {
      throw refuse('invalid_request', 'decision is granted or denied');
    }
    const limitParam = typeof ctx.query.limit === 'string' ? Number(ctx.query.limit) : 1000;
    const limit = Number.isInteger(limitParam) && limitParam > 0 ? Math.min(limitParam, 100_000) : 1000;
    const lines: string[] = [];
    try {
      for await (const record of opts.audit.query(filter)) {
        lines.push(JSON.stringify(record));
        if (lines.length >= limit) break;
      }
    } catch (err) {
      if (err instanceof RangeError) throw refuse('invalid_request', 'from/to must be ISO 8601 times');
      // No log yet: nothing has been recorded, so nothing matches.
      if (!(err instanceof Error && 'code' in err && err.code === 'ENOENT')) throw err;
    }
    ctx.type = 'application/x-ndjson';
    ctx.set('X-Result-Count', String(lines.length));
    ctx.body = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  });

  router.get('/revocations', async (ctx) => {
    ctx.body = { revocations: await opts.actions.list() };
  });

  return router;
}
