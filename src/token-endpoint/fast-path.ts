/**
 * `POST /token` answered from node:http, in front of the Koa app. The pipeline, the record and the answer are
 * the token endpoint's own (token-endpoint.ts, render.ts); what is left out is only the Koa plumbing a token
 * request never needs: the context objects, the security-header, unused-route, metadata, error-handler and
 * revocation middlewares' checks, and oidc-provider's router. Measured with `npm run bench` (bench/README.md):
 * that plumbing was a third of the CPU a same-token exchange cost outside signing.
 *
 * The answer is byte for byte the Koa path's (test/token-endpoint/fast-path.test.ts compares them, refusals
 * included): the security headers (http/security-headers.ts), `X-Request-Id`, `Content-Type`, a refusal's
 * `Retry-After` / `WWW-Authenticate`, no-store (RFC 6749 §5.1), `Content-Length`, in that order; no CORS
 * header (RFC 9700 §2.5). Only the exact target `POST <tokenPath>` takes this path: any other method, a URL
 * query (refused by step `framing`), and every other route reach the app, which runs the same pipeline.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { BrokerError } from '../errors/broker-errors.js';
import { brokerErrorAnswer } from '../http/oauth-error.js';
import { requestIdFrom } from '../http/request-id.js';
import { SECURITY_HEADERS } from '../http/security-headers.js';
import type { RequestHandler } from './fast-refusal.js';
import type { TokenHttpRequest } from './pipeline/http-request.js';
import { tokenAnswerParts, type TokenAnswerParts } from './render.js';
import { readBoundedBody, traceIdOf, type TokenEndpoint } from './token-endpoint.js';

export interface TokenFastPathDeps {
  readonly endpoint: TokenEndpoint;
  readonly log: Logger;
  /** The exchange-duration histogram by decision (observability/exchange-signals.ts on the Koa path). */
  readonly duration?: { observe(seconds: number, decision: 'granted' | 'denied'): void };
}

const SECURITY = Object.entries(SECURITY_HEADERS);

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The plain request the steps see, as token-endpoint.ts reads it from Koa's context (`proxy` off). */
function tokenHttpRequest(req: IncomingMessage): TokenHttpRequest {
  const { headers } = req;
  const length = headers['content-length'];
  return {
    method: 'POST',
    querystring: '',
    contentType: headers['content-type'] || undefined,
    contentLength: length === undefined || length === '' ? undefined : Number(length),
    authorization: headers.authorization,
    origin: headers.origin,
    rawHeaders: req.rawHeaders,
    address: req.socket.remoteAddress ?? '',
    readBody: (maxBytes) => (req.readable ? readBoundedBody(req, maxBytes) : Promise.resolve(undefined)),
  };
}

const SECURITY_FLAT = SECURITY.flat();

function write(res: ServerResponse, requestId: string, parts: TokenAnswerParts): void {
  const body = JSON.stringify(parts.body);
  // The Koa path's order: security headers (outermost middleware), request id, type, extra, no-store, length.
  // One flat list handed to writeHead: no per-header bookkeeping in the response object.
  const headers = [...SECURITY_FLAT, 'X-Request-Id', requestId, 'Content-Type', 'application/json; charset=utf-8'];
  if (parts.headers) for (const name in parts.headers) headers.push(name, parts.headers[name] as string);
  headers.push('Cache-Control', 'no-store', 'Pragma', 'no-cache', 'Content-Length', String(Buffer.byteLength(body)));
  res.writeHead(parts.status, headers);
  res.end(body);
}

export function withTokenFastPath(handler: RequestHandler, deps: TokenFastPathDeps): RequestHandler {
  const { tokenPath, issuer } = deps.endpoint.deps;
  const { handle } = deps.endpoint;
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== tokenPath) return handler(req, res);
    return answer(req, res);
  };

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = requestIdFrom(single(req.headers['x-request-id']));
    let parts: TokenAnswerParts;
    try {
      const request = tokenHttpRequest(req);
      const result = await handle(request, { requestId, traceId: traceIdOf(single(req.headers.traceparent)) });
      parts = tokenAnswerParts(result, { usedAuthorizationHeader: request.authorization !== undefined && request.authorization !== '', realm: issuer });
    } catch (err) {
      // As the central error handler (http/error-handler.ts) answers a fault on the Koa path: logged once, 500.
      deps.log.error({ err, reason: 'server_error', request_id: requestId, method: req.method, path: req.url }, 'request failed');
      const out = brokerErrorAnswer(new BrokerError('server_error', undefined, { cause: err }));
      parts = { status: out.status, body: { error: out.error, error_description: out.description }, headers: out.headers };
    }
    if (!res.headersSent && !res.writableEnded) write(res, requestId, parts);
    // The token endpoint answers 200 only with a token (render.ts).
    deps.duration?.observe((performance.now() - started) / 1000, parts.status === 200 ? 'granted' : 'denied');
  }
}
