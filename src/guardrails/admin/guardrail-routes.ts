/**
 * The guardrail admin API (issue 18), with the admin API's own authentication (admin-auth.ts: a viewer
 * reads, an operator changes state):
 *   GET  /admin/budgets/:agent                  every budget counter of the agent, current windows
 *   POST /admin/budgets/:agent/raise            { tool?, metric, by, reason }   a person raises one window's limit
 *   POST /admin/budgets/:agent/reset            { tool?, metric, reason }       a person empties one window's counter
 *   POST /admin/stages/:agent                   { stage, reason }               change the rollout stage
 *   GET  /admin/stages/:agent/report?from&to    what it did or would have done (attribution log)
 *   POST /admin/explain                         the decision trace of an exchange that is never made
 * Paths differ from admin-routes.ts, so each router answers only its own.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { ChainedRecord } from '../../attribution/chain.js';
import type { QueryFilter } from '../../attribution/query.js';
import type { AdminCaller } from '../../admin/admin-auth.js';
import { requestIdFrom } from '../../http/request-id.js';
import { renderOAuthError } from '../../http/oauth-error.js';
import { StateUnavailableError } from '../../state/shared-state.js';
import { buildStageReport } from '../stages/stage-report.js';
import type { GuardrailActions } from './guardrail-actions.js';
import { GuardrailAdminError, readJsonObject, requiredReason } from './json-body.js';

export interface GuardrailRoutesDeps {
  readonly actions: GuardrailActions;
  readonly authenticate: (authorization: string | undefined, callerAddress: string) => Promise<AdminCaller | undefined>;
  /** Records of the attribution log (absent: the report is not available, e.g. with the Redis sink). */
  readonly records?: (filter: QueryFilter) => AsyncIterable<ChainedRecord>;
  /** The explain endpoint's work: the body in, the trace out (explain-request.ts). */
  readonly explain: (body: Record<string, unknown>) => Promise<unknown>;
}

function optionalTool(body: Record<string, unknown>): string | undefined {
  const { tool } = body;
  if (tool === undefined || tool === null) return undefined;
  if (typeof tool !== 'string' || tool === '') throw new GuardrailAdminError(400, 'invalid_request', 'tool must be a tool id');
  return tool;
}

function metricOf(body: Record<string, unknown>): string {
  const { metric } = body;
  if (typeof metric !== 'string' || !/^(exchanges_per_hour|exchanges_per_day|amount_per_day:[A-Z]{3})$/u.test(metric)) {
    throw new GuardrailAdminError(400, 'invalid_request', 'metric must be exchanges_per_hour, exchanges_per_day or amount_per_day:<CUR>');
  }
  return metric;
}

export function guardrailRouter(deps: GuardrailRoutesDeps): Router {
  const router = new Router({ prefix: '/admin' });

  router.use(async (ctx, next) => {
    try {
      const caller = await deps.authenticate(ctx.get('authorization') || undefined, ctx.ip);
      if (caller === undefined) {
        throw new GuardrailAdminError(401, 'invalid_token', 'a valid admin key is required');
      }
      // Explain changes nothing, so a viewer may ask it too (RFC 6750 §3.1 insufficient_scope otherwise).
      const reads = ctx.method === 'GET' || ctx.path === '/admin/explain';
      if (caller.role !== 'operator' && !reads) throw new GuardrailAdminError(403, 'insufficient_scope', 'this admin key has the viewer role: changing state needs an operator key');
      ctx.state.adminId = caller.id;
      await next();
      ctx.set('Cache-Control', 'no-store');
    } catch (err) {
      const known = err instanceof GuardrailAdminError
        ? err
        : err instanceof StateUnavailableError
          ? new GuardrailAdminError(503, 'temporarily_unavailable', 'shared state is unavailable; the action may not have taken effect: repeat it')
          : new GuardrailAdminError(503, 'temporarily_unavailable', 'the action could not be attributed or applied; retry');
      const challenge = known.status === 401 ? 'Bearer realm="admin"' : known.status === 403 ? 'Bearer realm="admin", error="insufficient_scope"' : undefined;
      renderOAuthError(ctx, { status: known.status, error: known.code, description: known.message, ...(challenge ? { headers: { 'WWW-Authenticate': challenge } } : {}) });
    }
  });

  const context = (ctx: Context, reason: string) => ({
    by: String(ctx.state.adminId), reason, requestId: requestIdFrom(ctx.get('x-request-id') || undefined), callerAddress: ctx.ip,
  });

  router.get('/budgets/:agent', async (ctx) => {
    ctx.body = { agent: ctx.params.agent, budgets: await deps.actions.budgets(String(ctx.params.agent)) };
  });

  router.post('/budgets/:agent/:action', async (ctx) => {
    const { agent, action } = ctx.params as { agent: string; action: string };
    const body = await readJsonObject(ctx);
    const reason = requiredReason(body);
    if (action === 'raise') {
      ctx.body = await deps.actions.raise(agent, optionalTool(body), metricOf(body), Number(body.by), context(ctx, reason));
    } else if (action === 'reset') {
      ctx.body = await deps.actions.reset(agent, optionalTool(body), metricOf(body), context(ctx, reason));
    } else {
      throw new GuardrailAdminError(404, 'not_found', 'unknown budget action (raise or reset)');
    }
  });

  router.post('/stages/:agent', async (ctx) => {
    const body = await readJsonObject(ctx);
    ctx.body = await deps.actions.stage(String(ctx.params.agent), body.stage, context(ctx, requiredReason(body)));
  });

  router.get('/stages/:agent/report', async (ctx) => {
    if (!deps.records) throw new GuardrailAdminError(501, 'not_implemented', 'no attribution log can be read with this configuration');
    const agent = String(ctx.params.agent);
    const period: { from?: string; to?: string } = {};
    for (const key of ['from', 'to'] as const) {
      const value = ctx.query[key];
      if (typeof value === 'string' && value !== '') {
        if (Number.isNaN(Date.parse(value))) throw new GuardrailAdminError(400, 'invalid_request', `${key} must be an ISO 8601 time`);
        period[key] = value;
      }
    }
    try {
      ctx.body = await buildStageReport(agent, deps.records(period), period);
    } catch (err) {
      // No log yet: nothing was recorded.
      if (!(err instanceof Error && 'code' in err && err.code === 'ENOENT')) throw err;
      ctx.body = await buildStageReport(agent, [], period);
    }
  });

  router.post('/explain', async (ctx) => {
    ctx.body = await deps.explain(await readJsonObject(ctx));
  });

  return router;
}
