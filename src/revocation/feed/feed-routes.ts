/**
 * The revocation feed validators follow (authenticated by the validator-routes' `caller` step):
 *   GET /revocations/stream        server-sent events (feed-hub.ts, snapshot.ts)
 *   GET /revocations/feed          pull: without `cursor`, a snapshot streamed as one JSON document
 *                                  {cursor, user_key, revocations, events: []}; with `cursor`, the events after
 *                                  it {events, cursor}, or a fresh snapshot with `reset: true` when events after
 *                                  it were trimmed away. A cursor that is not a feed position is a 400.
 * Only what matching needs goes out (feed-rule.ts).
 */
import { Readable } from 'node:stream';
import type { Context } from 'koa';
import { BrokerError } from '../../errors/broker-errors.js';
import { renderBrokerError } from '../../http/oauth-error.js';
import { isFeedCursor, type SharedState } from '../../state/shared-state.js';
import { toFeedRule } from '../feed-rule.js';
import type { FeedHub } from './feed-hub.js';

export interface FeedRouteDeps {
  readonly state: SharedState;
  readonly now: () => number;
  readonly hub: FeedHub;
}

function unavailable(ctx: Context, cause: unknown): void {
  renderBrokerError(ctx, new BrokerError('state_unavailable', undefined, { cause, description: 'revocation state is unavailable', retryAfterSeconds: 1 }));
}

/** A snapshot as one JSON document, page by page: a failure mid-way cuts the response (never a shorter list). */
async function snapshotBody(deps: FeedRouteDeps, reset: boolean): Promise<Readable> {
  const key = await deps.state.feedKey();
  const snapshot = await deps.state.revocationSnapshot();
  const head = JSON.stringify({ cursor: snapshot.cursor ?? null, user_key: key.toString('base64url'), time: deps.now(), ...(reset ? { reset: true } : {}), events: [] });
  async function* body(): AsyncIterable<string> {
    yield `${head.slice(0, -1)},"revocations":[`;
    let first = true;
    for await (const page of snapshot.pages) {
      const text = page.map((r) => JSON.stringify(toFeedRule(r, key))).join(',');
      yield first ? text : `,${text}`;
      first = false;
    }
    yield ']}';
  }
  return Readable.from(body());
}

export async function pullFeed(ctx: Context, deps: FeedRouteDeps): Promise<void> {
  const raw = ctx.query.cursor;
  if (raw !== undefined && (typeof raw !== 'string' || (raw !== '' && !isFeedCursor(raw)))) {
    renderBrokerError(ctx, 'invalid_request', 'cursor must be a feed position returned by this feed');
    return;
  }
  const cursor = raw === '' ? undefined : raw;
  try {
    if (cursor !== undefined) {
      const page = await deps.state.feedSince(cursor);
      if (!page.truncated) {
        const key = page.events.some((e) => e.type === 'revocation') ? await deps.state.feedKey() : undefined;
        const events = page.events.flatMap((e) => (e.type === 'revocation' && e.revocation && key ? [{ type: 'revocation', cursor: e.cursor, rule: toFeedRule(e.revocation, key) }] : []));
        ctx.body = { events, cursor: page.events.at(-1)?.cursor ?? cursor, time: deps.now() };
        return;
      }
    }
    ctx.type = 'application/json';
    ctx.body = await snapshotBody(deps, cursor !== undefined);
  } catch (err) {
    unavailable(ctx, err);
  }
}

export function openStream(ctx: Context, deps: FeedRouteDeps, keyId: string): void {
  const res = ctx.res;
  const subscribed = deps.hub.subscribe(keyId, res);
  if (!subscribed.ok) {
    // 429: this validator key holds its share of subscriptions; 503: the replica holds as many as it takes.
    renderBrokerError(ctx, subscribed.status === 429 ? 'caller_limit_reached' : 'capacity_reached', subscribed.why);
    return;
  }
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  // The hub writes to the socket directly, so that it sees the socket's backpressure.
  ctx.respond = false;
  res.writeHead(200, { ...ctx.response.headers, 'content-type': 'text/event-stream', connection: 'keep-alive' });
  res.flushHeaders();
}
