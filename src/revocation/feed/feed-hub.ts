/**
 * The revocation feed's fan-out on one replica: one poll of the shared state for all subscribers (not one
 * per subscriber), each event serialised once and written to every subscriber, with bounded memory and
 * bounded patience per subscriber.
 *
 * - A subscriber first gets a complete snapshot (snapshot.ts); the hub queues events for it meanwhile and
 *   sends those newer than the snapshot's position once it is out. No heartbeat before that: a heartbeat
 *   means "you have every rule up to this position".
 * - Heartbeats go out only while the last successful poll is recent: silence means "assume nothing".
 * - A subscriber whose unsent data exceeds `maxBufferBytes` before a batch, or whose socket stays full
 *   beyond `dropAfterMs`, is dropped (it reconnects and gets a snapshot); so does one whose queue during a snapshot exceeds
 *   `maxPendingEvents`.
 * - When the shared feed was trimmed past the hub's position (events were lost to it), every subscriber
 *   is dropped, for the same reason.
 * - Caps: `maxPerKey` subscriptions per validator key (429) and `maxSubscribers` in total (503).
 */
import type { ServerResponse } from 'node:http';
import type { SharedState, StateEvent } from '../../state/shared-state.js';
import { compareCursors } from '../../state/shared-state.js';
import { toFeedRule } from '../feed-rule.js';
import { sendSnapshot, sseEvent } from './snapshot.js';

export interface FeedHubOptions {
  readonly state: SharedState;
  readonly now: () => number;
  readonly pollMs?: number;
  readonly heartbeatMs?: number;
  readonly maxSubscribers?: number;
  readonly maxPerKey?: number;
  readonly maxBufferBytes?: number;
  readonly dropAfterMs?: number;
  readonly maxPendingEvents?: number;
  readonly snapshotPageSize?: number;
  readonly onDrop?: (keyId: string, why: string) => void;
}

export const FEED_DEFAULTS = {
  pollMs: 100,
  heartbeatMs: 1000,
  maxSubscribers: 2000,
  maxPerKey: 64,
  maxBufferBytes: 1024 * 1024,
  dropAfterMs: 10_000,
  maxPendingEvents: 10_000,
  snapshotPageSize: 1000,
} as const;

export interface Subscriber {
  readonly keyId: string;
  /** Which of the heartbeat slots this subscriber's heartbeats go out in (spreads the writes over the period). */
  readonly slot: number;
  readonly res: ServerResponse;
  live: boolean;
  pending: { readonly cursor: string; readonly text: string }[];
  fullSince: number | undefined;
  closed: boolean;
}

/**
 * Heartbeats go out in this many slots per period: a tenth of the subscribers every tenth of the period,
 * so a thousand subscribers cost a hundred small writes at a time, not a thousand in one event-loop turn.
 */
const HEARTBEAT_SLOTS = 10;

export type SubscribeResult = { ok: true; subscriber: Subscriber } | { ok: false; status: 429 | 503; why: string };

export class FeedHub {
  readonly #o: Required<Omit<FeedHubOptions, 'onDrop'>> & Pick<FeedHubOptions, 'onDrop'>;
  readonly #subscribers = new Set<Subscriber>();
  readonly #perKey = new Map<string, number>();
  #cursor: string | undefined;
  #positioned = false;
  #lastOkPollStart = Number.NEGATIVE_INFINITY;
  #poll: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #polling = false;
  #waiters: (() => void)[] = [];
  #nextSlot = 0;
  #tick = 0;

  constructor(opts: FeedHubOptions) {
    this.#o = { ...FEED_DEFAULTS, ...opts };
  }

  get size(): number {
    return this.#subscribers.size;
  }

  subscribe(keyId: string, res: ServerResponse): SubscribeResult {
    if (this.#subscribers.size >= this.#o.maxSubscribers) return { ok: false, status: 503, why: 'the revocation feed has as many subscribers as it takes; retry later' };
    const mine = this.#perKey.get(keyId) ?? 0;
    if (mine >= this.#o.maxPerKey) return { ok: false, status: 429, why: `this validator key has ${String(mine)} feed subscriptions, the most allowed` };
    const subscriber: Subscriber = { keyId, slot: this.#nextSlot++ % HEARTBEAT_SLOTS, res, live: false, pending: [], fullSince: undefined, closed: false };
    this.#subscribers.add(subscriber);
    this.#perKey.set(keyId, mine + 1);
    res.on('drain', () => { subscriber.fullSince = undefined; });
    res.on('close', () => { this.#remove(subscriber); });
    this.#start();
    void sendSnapshot(this, subscriber, this.#o);
    return { ok: true, subscriber };
  }

  /** Resolves once the hub knows its feed position (so a snapshot taken afterwards misses no event). */
  positioned(): Promise<void> {
    if (this.#positioned) return Promise.resolve();
    return new Promise((resolve) => { this.#waiters.push(resolve); });
  }

  /** The snapshot is out: send what was queued after its position, then go live. */
  goLive(sub: Subscriber, snapshotCursor: string | undefined): void {
    for (const e of sub.pending.splice(0)) {
      if (snapshotCursor === undefined || compareCursors(e.cursor, snapshotCursor) > 0) this.write(sub, e.text);
    }
    sub.live = true;
  }

  /** Writes to one subscriber. Returns false when its socket buffer is full (the time bound starts then). */
  write(sub: Subscriber, text: string): boolean {
    if (sub.closed) return false;
    const ok = sub.res.write(text);
    if (!ok) sub.fullSince ??= this.#o.now();
    return ok;
  }

  /**
   * Drops subscribers still holding more than `maxBufferBytes` unsent. Checked before each batch (not per
   * write: one poll's batch may exceed it for a subscriber that reads well), so a subscriber holds at most
   * the bound plus one batch (1000 events).
   */
  #dropOverfull(): void {
    for (const sub of [...this.#subscribers]) {
      if (sub.res.writableLength > this.#o.maxBufferBytes) this.drop(sub, 'buffer_full');
    }
  }

  /** Ends a subscription; with `last`, that event is sent first (the socket gets `dropAfterMs` to take it). */
  drop(sub: Subscriber, why: string, last?: string): void {
    if (sub.closed) return;
    this.#o.onDrop?.(sub.keyId, why);
    this.#remove(sub);
    if (last === undefined) {
      sub.res.destroy();
      return;
    }
    sub.res.end(last);
    setTimeout(() => { sub.res.destroy(); }, this.#o.dropAfterMs).unref();
  }

  close(): void {
    for (const sub of [...this.#subscribers]) this.drop(sub, 'closing');
    this.#stop();
  }

  #remove(sub: Subscriber): void {
    if (sub.closed) return;
    sub.closed = true;
    sub.pending = [];
    this.#subscribers.delete(sub);
    const n = (this.#perKey.get(sub.keyId) ?? 1) - 1;
    if (n <= 0) this.#perKey.delete(sub.keyId);
    else this.#perKey.set(sub.keyId, n);
    if (this.#subscribers.size === 0) this.#stop();
  }

  #start(): void {
    if (this.#poll) return;
    this.#poll = setInterval(() => { void this.#pollOnce(); }, this.#o.pollMs);
    this.#heartbeat = setInterval(() => { this.#beat(); }, this.#o.heartbeatMs / HEARTBEAT_SLOTS);
    void this.#pollOnce();
  }

  #stop(): void {
    clearInterval(this.#poll);
    clearInterval(this.#heartbeat);
    this.#poll = undefined;
    this.#heartbeat = undefined;
    this.#positioned = false;
    this.#cursor = undefined;
  }

  async #pollOnce(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    const startedAt = this.#o.now();
    try {
      if (!this.#positioned) {
        this.#cursor = await this.#o.state.feedPosition();
        this.#positioned = true;
        for (const wake of this.#waiters.splice(0)) wake();
      } else {
        for (;;) {
          // An empty feed at positioning: everything in it now is new.
          const page = this.#cursor === undefined
            ? { events: await this.#o.state.eventsSince(undefined, 1000), truncated: false }
            : await this.#o.state.feedSince(this.#cursor, 1000);
          if (page.truncated) {
            // Events after our position are gone: nobody here can be told what they were. `reset` tells
            // validators their rules are incomplete now (not only after their grace); they reconnect for a snapshot.
            const reset = sseEvent('reset', { time: this.#o.now(), why: 'the feed was trimmed past this replica\'s position' });
            for (const sub of [...this.#subscribers]) this.drop(sub, 'feed_truncated', reset);
            return;
          }
          if (page.events.length === 0) break;
          this.#dropOverfull();
          await this.#fanOut(page.events);
          if (page.events.length < 1000) break;
          // Let sockets drain between pages.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      this.#lastOkPollStart = startedAt;
    } catch {
      // Nothing is sent; heartbeats stop once the last good poll is too old, and validators fail closed.
    } finally {
      this.#polling = false;
    }
  }

  async #fanOut(events: StateEvent[]): Promise<void> {
    const key = events.some((e) => e.type === 'revocation') ? await this.#o.state.feedKey() : undefined;
    for (const e of events) {
      this.#cursor = e.cursor;
      // Agent status changes reach validators as the agent rule that accompanies them; nothing else is sent.
      if (e.type !== 'revocation' || !e.revocation || !key) continue;
      const text = sseEvent('revocation', { rule: toFeedRule(e.revocation, key), cursor: e.cursor }, e.cursor);
      for (const sub of this.#subscribers) {
        if (sub.live) this.write(sub, text);
        else if (sub.pending.push({ cursor: e.cursor, text }) > this.#o.maxPendingEvents) this.drop(sub, 'pending_full');
      }
    }
  }

  #beat(): void {
    const now = this.#o.now();
    const slot = this.#tick++ % HEARTBEAT_SLOTS;
    const fresh = now - this.#lastOkPollStart <= this.#o.heartbeatMs + this.#o.pollMs;
    const text = sseEvent('heartbeat', { time: now, cursor: this.#cursor ?? null });
    for (const sub of [...this.#subscribers]) {
      if (sub.slot !== slot) continue;
      if (sub.res.writableLength > this.#o.maxBufferBytes) this.drop(sub, 'buffer_full');
      else if (sub.fullSince !== undefined && now - sub.fullSince > this.#o.dropAfterMs) this.drop(sub, 'too_slow');
      else if (fresh && sub.live) this.write(sub, text);
    }
  }
}
