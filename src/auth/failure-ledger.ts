/**
 * Failed admin and validator authentications are attributed, aggregated (issue 14 items 3 and 5): one
 * `authentication_failures` record per (endpoint family, source address) and interval, with the count, the
 * count per reason and per presented id, and the first and last time; never one synced record per failure,
 * so that a flood of wrong keys cannot fill or stall the attribution log. The first failure from a source
 * in an interval is also logged at once (warn), so an operator sees an attack without waiting for the record.
 * Nothing secret is kept: ids as presented (bounded), never a key.
 */
import { randomUUID } from 'node:crypto';
import type { AttributionSink } from '../attribution/sink.js';
import type { Logger } from '../log.js';

export type AuthSurface = 'admin' | 'validator' | 'revoke';
export type AuthFailureReason = 'missing' | 'malformed' | 'unknown_id' | 'wrong_secret' | 'assertion_invalid' | 'assertion_replayed' | 'replay_check_unavailable';

export interface AuthenticationFailuresRecord {
  readonly v: 1;
  readonly type: 'authentication_failures';
  readonly id: string;
  readonly time: string;
  readonly surface: AuthSurface;
  readonly caller: { readonly address: string };
  readonly count: number;
  readonly reasons: Readonly<Partial<Record<AuthFailureReason, number>>>;
  /** Presented key or client ids and how often (at most MAX_IDS distinct; the rest under `*`). */
  readonly ids: Readonly<Record<string, number>>;
  readonly first: string;
  readonly last: string;
}

const MAX_IDS = 20;
const MAX_SOURCES = 10_000;
const ID_SHAPE = /^[A-Za-z0-9._@:-]{1,64}$/u;

/** ids in a Map: a presented id such as `__proto__` must stay an ordinary key. */
interface Bucket { count: number; reasons: Partial<Record<AuthFailureReason, number>>; ids: Map<string, number>; first: number; last: number }

export interface FailureLedgerDeps {
  readonly sink: Pick<AttributionSink, 'append'>;
  readonly log: Pick<Logger, 'warn' | 'error'>;
  readonly now: () => number;
  /** Aggregation interval; default 60 s. */
  readonly intervalMs?: number;
}

/** Pure: a bucket as its record. */
export function failuresRecord(surface: AuthSurface, address: string, bucket: Bucket, nowMs: number): AuthenticationFailuresRecord {
  return {
    v: 1, type: 'authentication_failures', id: randomUUID(), time: new Date(nowMs).toISOString(), surface,
    caller: { address }, count: bucket.count, reasons: { ...bucket.reasons }, ids: Object.fromEntries(bucket.ids),
    first: new Date(bucket.first).toISOString(), last: new Date(bucket.last).toISOString(),
  };
}

export class FailureLedger {
  readonly #buckets = new Map<string, { surface: AuthSurface; address: string; bucket: Bucket }>();
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly deps: FailureLedgerDeps) {
    this.#timer = setInterval(() => { void this.flush(); }, deps.intervalMs ?? 60_000);
    this.#timer.unref();
  }

  /** Counts one failure; never waits for I/O. */
  failed(surface: AuthSurface, address: string, reason: AuthFailureReason, presentedId?: string): void {
    const now = this.deps.now();
    // Beyond MAX_SOURCES distinct sources in one interval, the rest share one bucket (still counted).
    const source = this.#buckets.size >= MAX_SOURCES && !this.#buckets.has(`${surface} ${address}`) ? '*' : address;
    const key = `${surface} ${source}`;
    let entry = this.#buckets.get(key);
    if (!entry) {
      entry = { surface, address: source, bucket: { count: 0, reasons: {}, ids: new Map(), first: now, last: now } };
      this.#buckets.set(key, entry);
      this.deps.log.warn({ surface, caller: source, reason, presented_id: safeId(presentedId) }, 'authentication failed; further failures from this source are aggregated into one authentication_failures record per interval');
    }
    const { bucket } = entry;
    bucket.count += 1;
    bucket.last = now;
    bucket.reasons[reason] = (bucket.reasons[reason] ?? 0) + 1;
    const id = safeId(presentedId);
    if (id !== undefined) {
      const slot = bucket.ids.has(id) || bucket.ids.size < MAX_IDS ? id : '*';
      bucket.ids.set(slot, (bucket.ids.get(slot) ?? 0) + 1);
    }
  }

  /** Writes one record per bucket and starts the next interval; failures to write are logged, counts kept. */
  async flush(): Promise<void> {
    if (this.#buckets.size === 0) return;
    const entries = [...this.#buckets.values()];
    this.#buckets.clear();
    const now = this.deps.now();
    await Promise.all(entries.map(async ({ surface, address, bucket }) => {
      try {
        await this.deps.sink.append(failuresRecord(surface, address, bucket, now));
      } catch (err) {
        this.deps.log.error({ err, surface, caller: address, count: bucket.count }, 'authentication failures could not be recorded');
      }
    }));
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}

/** Only well-formed ids are kept; anything else (possibly a key pasted as an id) is recorded as `?`. */
function safeId(id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  return ID_SHAPE.test(id) ? id : '?';
}
