/**
 * The fast refusal (issue 14 item 3): a source the per-source limit already refuses from memory is answered
 * in front of the Koa app, before the security-header, unused-route and metadata middlewares and
 * oidc-provider's stack run. A flood of wrong secrets is refused at a fraction of the cost of the pipeline
 * path, so it takes less of the CPU the legitimate exchanges need.
 *
 * The answer is byte for byte the pipeline's `source_rate_limited` answer (steps/per-source-limit.ts):
 * 429 `temporarily_unavailable` (RFC 6749 §5.2), `Retry-After` (RFC 9110 §10.2.3), no-store (RFC 6749 §5.1),
 * the request id, the security headers; and the request is counted in the same aggregate tally with the same
 * reason, so every decision stays accounted for. Only refusals from memory take this path (never a shared-state
 * call); everything else, the first refusal of a window included, goes through the pipeline.
 *
 * The body is never read: it is discarded (`resume()`), as Node does with an unread body, so the keep-alive
 * connection stays usable and a well-behaved client is not made to reconnect; a slow or endless body is bounded
 * by the server's `requestTimeout`, as on the pipeline path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SECURITY_HEADERS } from '../http/security-headers.js';
import { requestIdFrom } from '../http/request-id.js';
import { SOURCE_LIMITED as DENIAL } from './steps/per-source-limit.js';
import type { SourceLimiter } from './source-limit.js';
import type { UnauthenticatedDenials } from './unauthenticated-denials.js';

/** A node:http request handler (Koa's `app.callback()`, listen.ts's AppCallback). */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<unknown> | undefined;

export interface FastRefusalDeps {
  readonly tokenPath: string;
  readonly limiter: SourceLimiter;
  readonly unauthenticated: UnauthenticatedDenials;
  readonly now: () => number;
}

const BODY = JSON.stringify({ error: DENIAL.error, error_description: DENIAL.description });
const BODY_LENGTH = String(Buffer.byteLength(BODY));

function pathOf(url: string | undefined): string {
  const raw = url ?? '';
  const query = raw.indexOf('?');
  return query < 0 ? raw : raw.slice(0, query);
}

export function withFastRefusal(handler: RequestHandler, deps: FastRefusalDeps): RequestHandler {
  return (req, res) => {
    // The path as Koa's `ctx.path` sees it for origin-form targets; any other form simply takes the pipeline path.
    if (pathOf(req.url) !== deps.tokenPath) return handler(req, res);
    // `ctx.ip` with `proxy` off (build-provider.ts): the TCP peer address.
    const address = req.socket.remoteAddress ?? '';
    const nowMs = deps.now();
    const retryAfter = deps.limiter.refusedNow(address, nowMs);
    if (retryAfter === undefined) return handler(req, res);
    const header = req.headers['x-request-id'];
    const requestId = requestIdFrom(typeof header === 'string' ? header : undefined);
    // The pipeline's header order (render.ts): security headers, request id, type, Retry-After, no-store, length.
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Retry-After', String(retryAfter));
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Pragma', 'no-cache');
    res.setHeader('Content-Length', BODY_LENGTH);
    res.statusCode = 429;
    res.end(req.method === 'HEAD' ? undefined : BODY);
    req.resume();
    deps.unauthenticated.add({ address, reason: DENIAL.reason, clientId: null, atMs: nowMs });
    return undefined;
  };
}
