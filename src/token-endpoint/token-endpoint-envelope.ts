/**
 * Wraps the token endpoint (mounted before oidc-provider's router): request id and trace id, no-store
 * headers on every answer, framing checks, and exactly one attribution record per request. A granted
 * token leaves only after its record is durable; if the record cannot be written the token is withheld
 * and the agent gets 503 temporarily_unavailable (fail closed).
 */
import { requestIdFrom } from '../http/request-id.js';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { Context, Next } from 'koa';
import type { ExchangeRecord } from '../attribution/record.js';
import type { AttributionSink } from '../attribution/sink.js';
import { deny, type Denial } from '../exchange/reasons.js';
import type { Logger } from '../log.js';
import { buildExchangeRecord, type Outcome } from './build-record.js';
import { checkFraming, tooLarge } from './check-framing.js';
import { checkFormEncoding } from './check-form-encoding.js';
import { exchangeState, type ExchangeState } from './exchange-state.js';
import { currentTurn, leaveTurn } from './loop-turn.js';
import { clientWasAuthenticated, overrideForMissingClientAuth, providerDenialReason } from './provider-denial.js';
import type { SourceLimiter } from './source-limit.js';
import type { UnauthenticatedDenials } from './unauthenticated-denials.js';

export interface EnvelopeDeps {
  readonly tokenPath: string;
  readonly maxBodyBytes: number;
  readonly sink: AttributionSink;
  readonly log: Logger;
  readonly now: () => number;
  /** Sees every exchange record once it is written (the kill switch). */
  readonly observe?: (record: ExchangeRecord) => void;
  /** Requests per caller address, before client authentication (source-limit.ts). */
  readonly sourceLimiter?: SourceLimiter;
  /** Where denials without an authenticated agent are counted, instead of one record each. */
  readonly unauthenticated?: UnauthenticatedDenials;
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/u;

function traceIdOf(header: string | undefined): string | undefined {
  const id = header ? TRACEPARENT.exec(header.trim())?.[1] : undefined;
  return id && !/^0+$/u.test(id) ? id : undefined;
}

function setNoStore(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
}

function renderDenial(ctx: Context, status: number, denial: Pick<Denial, 'error' | 'description'>): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = { error: denial.error, error_description: denial.description };
}

interface OidcLike { oidc?: { client?: { clientId: string } } }

/**
 * A body sent without Content-Length (chunked) cannot be refused up front: read it here, at most
 * `maxBodyBytes` of it, so the configured limit holds whatever the framing (oidc-provider's own cap is larger).
 */
async function readBoundedBody(req: IncomingMessage, maxBodyBytes: number): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) return 'too_large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** The request as oidc-provider reads it: the same headers, the already-read body replayed as its stream. */
function replayRequest(original: IncomingMessage, body: Buffer): IncomingMessage {
  const replay = Readable.from([body]) as Readable & Partial<IncomingMessage>;
  return Object.assign(replay, {
    headers: original.headers,
    rawHeaders: original.rawHeaders,
    method: original.method,
    url: original.url,
    httpVersion: original.httpVersion,
    socket: original.socket,
  }) as IncomingMessage;
}

export function tokenEndpointEnvelope(deps: EnvelopeDeps) {
  return async function tokenEndpoint(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== deps.tokenPath) {
      await next();
      return;
    }
    const arrivedIn = currentTurn();
    const state = exchangeState(ctx);
    state.requestId = requestIdFrom(ctx.get('x-request-id'));
    const traceId = traceIdOf(ctx.get('traceparent'));
    if (traceId) state.traceId = traceId;
    ctx.set('X-Request-Id', state.requestId);

    // Before anything else, client authentication included: a flood from one address is refused from memory.
    const retryAfter = await deps.sourceLimiter?.(ctx.ip, deps.now());
    if (retryAfter !== undefined) {
      state.denial = deny('source_rate_limited', 'too many requests from this address; slow down');
      ctx.set('Retry-After', String(retryAfter));
      renderDenial(ctx, 429, state.denial);
      setNoStore(ctx);
      await recordOutcome(ctx, state, deps);
      await leaveTurn(arrivedIn);
      return;
    }

    const lengthHeader = ctx.get('content-length');
    let rejection = checkFraming(
      {
        method: ctx.method,
        querystring: ctx.querystring,
        contentType: ctx.get('content-type') || undefined,
        contentLength: lengthHeader === '' ? undefined : Number(lengthHeader),
      },
      deps.maxBodyBytes,
    );
    let body: Buffer | undefined;
    // Every body is read here (not only chunked ones): the UTF-8 check must see the raw bytes (check-form-encoding.ts).
    if (!rejection && ctx.req.readable) {
      const read = await readBoundedBody(ctx.req, deps.maxBodyBytes);
      if (read === 'too_large') rejection = tooLarge(deps.maxBodyBytes);
      else { body = read; rejection = checkFormEncoding(body); }
    }
    if (rejection) {
      state.denial = rejection.denial;
      for (const [name, value] of Object.entries(rejection.headers ?? {})) ctx.set(name, value);
      renderDenial(ctx, rejection.status, rejection.denial);
    } else {
      if (body !== undefined) ctx.req = replayRequest(ctx.req, body);
      await next();
    }
    setNoStore(ctx);
    if (state.denial?.reason === 'rate_limited') ctx.set('Retry-After', '1');
    await recordOutcome(ctx, state, deps);
    // A response completed without waiting for I/O leaves with the rest of this turn's (see loop-turn.ts).
    await leaveTurn(arrivedIn);
  };
}

async function recordOutcome(ctx: Context, state: ExchangeState, deps: EnvelopeDeps): Promise<void> {
  // Issue 17: an onward exchange grants a credential, not a minted token.
  const granted = ((state.grant !== undefined && state.minted !== undefined) || state.onward?.granted === true) && ctx.status === 200;
  const identified = (ctx as unknown as OidcLike).oidc?.client?.clientId;
  let outcome: Outcome;
  let authenticated: boolean;
  if (granted) {
    outcome = { decision: 'granted' };
    authenticated = true;
  } else if (state.denial) {
    outcome = { decision: 'denied', reason: state.denial.reason, error: state.denial.error };
    authenticated = state.authenticatedClientId !== undefined;
  } else {
    const reason = providerDenialReason(state.providerError);
    const override = overrideForMissingClientAuth(reason, state.providerError);
    if (override) {
      ctx.status = override.status;
      ctx.body = override.body;
      ctx.set('WWW-Authenticate', 'Basic realm="token"');
    }
    const body = ctx.body as { error?: unknown } | undefined;
    outcome = { decision: 'denied', reason, error: typeof body?.error === 'string' ? body.error : 'server_error' };
    authenticated = clientWasAuthenticated(identified !== undefined, reason);
  }
  if (deps.unauthenticated && outcome.decision === 'denied' && !authenticated) {
    // No agent to attribute it to: counted in this address's aggregate record (unauthenticated-denials.ts).
    deps.unauthenticated.add({ address: ctx.ip, reason: outcome.reason, clientId: state.authenticatedClientId ?? identified ?? null, atMs: deps.now() });
    return;
  }
  const record = buildExchangeRecord(state, outcome, {
    nowMs: deps.now(),
    callerAddress: ctx.ip,
    agent: { clientId: state.authenticatedClientId ?? identified ?? null, authenticated },
  });
  try {
    await deps.sink.append(record);
    deps.observe?.(record);
  } catch (err) {
    deps.log.error({ err, request_id: state.requestId, decision: record.decision }, 'attribution record could not be written');
    if (granted) {
      // Fail closed: the token was minted but is never released without its record.
      const denial = deny('attribution_unavailable', 'the attribution log is unavailable; no token was issued');
      renderDenial(ctx, 503, denial);
    }
  }
}
