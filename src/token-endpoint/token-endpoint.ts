/**
 * `POST /token`, the broker's own handler (mounted before oidc-provider's router, which never sees a token
 * request): the HTTP edge of the pipeline. It reads the request once into plain values, runs the steps
 * (token-steps.ts) with the runner, records the outcome once (attribute.ts) and answers once (render.ts),
 * with the request id (`X-Request-Id`) and trace id (W3C `traceparent`) on the record, no-store on every
 * answer, and the token released only after its record is durable.
 */
import type { IncomingMessage } from 'node:http';
import type { Context, Next } from 'koa';
import { requestIdFrom } from '../http/request-id.js';
import { attribute, type AttributeDeps } from './attribute.js';
import { currentTurn, leaveTurn } from './loop-turn.js';
import type { Facts } from './pipeline/facts.js';
import type { TokenHttpRequest } from './pipeline/http-request.js';
import { runPipeline, type Delivered, type Issued, type RunnerHooks } from './pipeline/runner.js';
import type { Refusal, Step } from './pipeline/step.js';
import { renderTokenAnswer } from './render.js';
import { TOKEN_STEPS, type TokenPipelineDeps } from './token-steps.js';

export interface TokenEndpointDeps extends AttributeDeps {
  readonly tokenPath: string;
  /** The issuer identifier: the realm of `Basic` challenges. */
  readonly issuer: string;
  readonly pipeline: TokenPipelineDeps;
  /** The steps to run; TOKEN_STEPS unless a test or a feature composes another list. */
  readonly steps?: readonly Step<TokenPipelineDeps>[];
  readonly hooks?: RunnerHooks;
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/u;

export function traceIdOf(header: string | undefined): string | undefined {
  const id = header ? TRACEPARENT.exec(header.trim())?.[1] : undefined;
  return id && !/^0+$/u.test(id) ? id : undefined;
}

/**
 * At most `maxBodyBytes` of the body, whatever its framing: a chunked body has no Content-Length to
 * refuse up front. Read with plain listeners (no async iterator: fewer objects per request); over the bound,
 * reading stops and the stream is left paused, as the framing step's 413 answers without the rest.
 */
export function readBoundedBody(req: IncomingMessage, maxBodyBytes: number): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    function onData(chunk: Buffer): void {
      size += chunk.length;
      if (size > maxBodyBytes) {
        stop();
        req.pause();
        resolve('too_large');
        return;
      }
      chunks.push(chunk);
    }
    function onEnd(): void {
      stop();
      resolve(chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks, size));
    }
    function onError(err: Error): void {
      stop();
      reject(err);
    }
    function onClose(): void {
      // Closed before the end of the body (the client went away): as the stream's own premature-close error.
      stop();
      reject(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export function tokenHttpRequest(ctx: Context): TokenHttpRequest {
  const length = ctx.get('content-length');
  const req = ctx.req;
  return {
    method: ctx.method,
    querystring: ctx.querystring,
    contentType: ctx.get('content-type') || undefined,
    contentLength: length === '' ? undefined : Number(length),
    authorization: req.headers.authorization,
    origin: req.headers.origin,
    rawHeaders: req.rawHeaders,
    address: ctx.ip,
    readBody: (maxBytes) => (req.readable ? readBoundedBody(req, maxBytes) : Promise.resolve(undefined)),
  };
}

/** What the edge hands the pipeline besides the request: the ids the record and the answer carry. */
export interface RequestIds {
  readonly requestId: string;
  readonly traceId: string | undefined;
}

/**
 * The whole of one token request once its HTTP values are read: runs the steps, records the outcome once and
 * returns the one answer to write (render.ts for Koa, fast-path.ts for node:http), after the loop turn it
 * arrived in when it completed without I/O (loop-turn.ts).
 */
export type TokenRequestHandler = (request: TokenHttpRequest, ids: RequestIds) => Promise<Issued | Delivered | Refusal>;

export function tokenRequestHandler(deps: TokenEndpointDeps): TokenRequestHandler {
  const steps = deps.steps ?? TOKEN_STEPS;
  return async (request, { requestId, traceId }) => {
    const arrivedIn = currentTurn();
    const start: Facts = traceId === undefined ? { requestId } : { requestId, traceId };
    const outcome = await runPipeline(steps, start, request, deps.pipeline, deps.hooks);
    const answer = await attribute(outcome, request.address, deps);
    // A response completed without waiting for I/O leaves with the rest of this turn's (see loop-turn.ts).
    await leaveTurn(arrivedIn);
    return answer;
  };
}

/** The Koa middleware of `POST /token`, with the request handler it runs (the node:http fast path runs the same). */
export type TokenEndpoint = ((ctx: Context, next: Next) => Promise<void>) & { readonly handle: TokenRequestHandler; readonly deps: TokenEndpointDeps };

export function tokenEndpoint(deps: TokenEndpointDeps): TokenEndpoint {
  const handle = tokenRequestHandler(deps);
  const token = async (ctx: Context, next: Next): Promise<void> => {
    if (ctx.path !== deps.tokenPath) {
      await next();
      return;
    }
    const requestId = requestIdFrom(ctx.get('x-request-id'));
    // Issue 19: with tracing on, the exchange span's trace id (observability/exchange-signals.ts), else the header's.
    const traceId = (ctx.state as { traceId?: string }).traceId ?? traceIdOf(ctx.get('traceparent'));
    ctx.set('X-Request-Id', requestId);
    const request = tokenHttpRequest(ctx);
    const answer = await handle(request, { requestId, traceId });
    renderTokenAnswer(ctx, answer, { usedAuthorizationHeader: request.authorization !== undefined && request.authorization !== '', realm: deps.issuer });
  };
  return Object.assign(token, { handle, deps });
}
