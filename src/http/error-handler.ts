/**
 * The central error handler of the broker's HTTP surface (mounted by create-broker.ts in front of the
 * broker's own routes; oidc-provider renders its own routes' errors through `renderProviderError`).
 *   - An error of the closed set (src/errors/broker-errors.ts) is answered with its entry.
 *   - A client error raised by Koa or a router (`expose: true`, 4xx) gets the code of its status.
 *   - Anything else is a fault: 500 `server_error` with a fixed description (no message, no stack trace),
 *     logged once here with the request id, which the answer carries in `X-Request-Id` so an operator can
 *     find the log line. Koa's own handler never sees it, so it is not logged twice.
 * Every answer goes through the one renderer (oauth-error.ts): JSON, no-store. An error answer that another
 * layer wrote as a body (`{ error }` with a 4xx/5xx status) gets no-store here too.
 */
import type { Context, Next } from 'koa';
import { BrokerError, type BrokerErrorReason } from '../errors/broker-errors.js';
import type { Logger } from '../log.js';
import { renderBrokerError, setNoStore } from './oauth-error.js';
import { requestIdFrom } from './request-id.js';

const CODE_OF_STATUS: Readonly<Record<number, BrokerErrorReason>> = {
  400: 'invalid_request',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  501: 'not_implemented',
};

interface HttpErrorLike { readonly status?: unknown; readonly expose?: unknown }

/** The error of the closed set that `err` is answered as. Pure. */
export function classifyError(err: unknown): BrokerError {
  if (err instanceof BrokerError) return err;
  const { status, expose } = (typeof err === 'object' && err !== null ? err : {}) as HttpErrorLike;
  if (expose === true && typeof status === 'number' && status >= 400 && status < 500) {
    return new BrokerError(CODE_OF_STATUS[status] ?? 'invalid_request');
  }
  return new BrokerError('server_error', undefined, { cause: err });
}

function isErrorBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string';
}

export function brokerErrorHandler(opts: { readonly log: Logger }) {
  return async function brokerErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      const known = classifyError(err);
      if (known.entry.status >= 500) {
        // Logged once, here; a fault (server_error) as an error, a known dependency failure as a warning.
        const requestId = requestIdFrom(ctx.get('x-request-id') || undefined);
        const line = { err, reason: known.reason, request_id: requestId, method: ctx.method, path: ctx.path };
        if (known.reason === 'server_error') opts.log.error(line, 'request failed');
        else opts.log.warn(line, 'request failed: dependency unavailable');
        if (!ctx.headerSent) ctx.set('X-Request-Id', requestId);
      }
      // A streamed answer that failed half-way cannot be replaced: Koa ends the response.
      if (ctx.headerSent || !ctx.writable) return;
      renderBrokerError(ctx, known);
      return;
    }
    if (ctx.status >= 400 && isErrorBody(ctx.body)) setNoStore(ctx);
  };
}
