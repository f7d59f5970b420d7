/**
 * A subscriber's snapshot, streamed in pages so that a million rules neither time out in one command nor
 * sit in memory at once: `snapshot_begin` (position, feed key), `snapshot_rules` pages, `snapshot_end`
 * (position and count, so the validator can tell a complete snapshot from a cut one). Each page waits for the
 * subscriber to take the previous one (bounded patience). When the state cannot be read, or a stored rule
 * cannot be parsed, the subscriber gets `unavailable` and the snapshot is retried in the same stream, with
 * backoff, until it goes out complete or the subscriber leaves: never a partial snapshot, never heartbeats
 * before it.
 */
import { once } from 'node:events';
import type { SharedState } from '../../state/shared-state.js';
import { toFeedRule } from '../feed-rule.js';
import type { FeedHub, Subscriber } from './feed-hub.js';

export function sseEvent(event: string, data: unknown, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

interface SnapshotOptions {
  readonly state: SharedState;
  readonly now: () => number;
  readonly snapshotPageSize: number;
  readonly dropAfterMs: number;
}

/** Control flow only (the subscriber left mid-snapshot): caught in this file, never an HTTP answer. */
class Gone extends Error {}

/** Waits until the subscriber's socket took what was written (or it left, or it is too slow: dropped). */
async function drained(hub: FeedHub, sub: Subscriber, dropAfterMs: number): Promise<void> {
  if (sub.closed) throw new Gone();
  if (sub.res.writableLength < sub.res.writableHighWaterMark) return;
  const timeout = AbortSignal.timeout(dropAfterMs);
  try {
    await Promise.race([once(sub.res, 'drain', { signal: timeout }), once(sub.res, 'close', { signal: timeout })]);
  } catch {
    hub.drop(sub, 'too_slow');
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the socket may have closed while we waited
  if (sub.closed) throw new Gone();
}

export async function sendSnapshot(hub: FeedHub, sub: Subscriber, o: SnapshotOptions): Promise<void> {
  let backoff = 200;
  while (!sub.closed) {
    try {
      // Until the hub knows its feed position (the state answers), the subscriber hears `unavailable`.
      await Promise.race([hub.positioned(), new Promise((_resolve, reject) => { setTimeout(() => { reject(new Error('no feed position')); }, backoff).unref(); })]);
      const key = await o.state.feedKey();
      const snapshot = await o.state.revocationSnapshot(o.snapshotPageSize);
      hub.write(sub, sseEvent('snapshot_begin', { cursor: snapshot.cursor ?? null, user_key: key.toString('base64url'), time: o.now() }));
      let count = 0;
      for await (const page of snapshot.pages) {
        await drained(hub, sub, o.dropAfterMs);
        count += page.length;
        hub.write(sub, sseEvent('snapshot_rules', { rules: page.map((r) => toFeedRule(r, key)) }));
      }
      await drained(hub, sub, o.dropAfterMs);
      hub.write(sub, sseEvent('snapshot_end', { cursor: snapshot.cursor ?? null, count, time: o.now() }, snapshot.cursor));
      hub.goLive(sub, snapshot.cursor);
      return;
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the socket may have closed while we waited
      if (err instanceof Gone || sub.closed) return;
      hub.write(sub, sseEvent('unavailable', { time: o.now(), retry_ms: backoff }));
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 2000);
    }
  }
}
