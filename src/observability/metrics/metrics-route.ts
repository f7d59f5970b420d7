/**
 * Where Prometheus scrapes. Two ways, as operators choose:
 * - `GET /metrics` on the broker's own port, behind a bearer admin key (any role: a viewer key is enough),
 *   checked like every admin call (auth/key-check.ts) and failed attempts counted in the failure ledger;
 * - a separate listener (`metrics: { host, port }` in broker.yaml, or BROKER_METRICS_PORT / _HOST; host default 127.0.0.1) that
 *   serves only `/metrics`, without a key: its exposure is decided by where it is bound (RFC 6750 §3 for
 *   the bearer challenge on the main port).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, Next } from 'koa';
import { renderOAuthError } from '../../http/oauth-error.js';
import type { BrokerMetrics } from './broker-metrics.js';

export const METRICS_PATH = '/metrics';

export type MetricsAuthenticate = (authorization: string | undefined, callerAddress: string) => Promise<unknown>;

export function metricsRoute(metrics: BrokerMetrics, authenticate: MetricsAuthenticate) {
  return async function metricsEndpoint(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== METRICS_PATH) {
      await next();
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      renderOAuthError(ctx, { status: 405, error: 'invalid_request', description: 'metrics are read with GET', headers: { Allow: 'GET, HEAD' } });
      return;
    }
    const caller = await authenticate(ctx.get('authorization') || undefined, ctx.ip);
    if (caller === undefined) {
      renderOAuthError(ctx, { status: 401, error: 'invalid_token', description: 'a valid admin key is required', headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' } });
      return;
    }
    const { contentType, body } = await metrics.render();
    ctx.set('Cache-Control', 'no-store');
    ctx.type = contentType;
    ctx.body = body;
  };
}

/** The handler of the separate metrics listener: `/metrics` only, everything else 404. */
export function metricsListener(metrics: BrokerMetrics) {
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    try {
      const { contentType, body } = await metrics.render();
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
    }
  };
}
