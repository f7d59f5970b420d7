/**
 * Who owns a Redis key prefix, and whether the data under it is still the data this broker started on.
 *
 *   <prefix>owner   STRING  {"issuer": "<issuer>", "epoch": "<random id>", "claimed_at": "<ISO time>"}
 *
 * Written once with SET NX by the first broker that starts on the prefix. A broker whose issuer differs
 * refuses to start: suspensions and revocations are decisions about one issuer's agents and tokens, and
 * two brokers sharing a prefix would silently share them. One key (no hash tag needed) so that the claim
 * is atomic on a single server, Sentinel and Cluster alike.
 *
 * The epoch detects a Redis that lost its data while the broker ran (a restart without persistence, a
 * FLUSHALL, a failover to an empty replica): the marker is gone, or another broker re-claimed the prefix
 * with a new epoch. Suspensions live in that data, so an empty Redis would silently lift them. From then
 * on `/readyz` answers 503 `state_epoch_lost`, an error is logged, and the reads that decide whether an
 * agent is suspended fail (StateUnavailableError -> 503 temporarily_unavailable, nothing minted) until the
 * operator has re-issued the suspensions and revocations and restarted the replica.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { RedisClient } from './connect-redis.js';
import { StateUnavailableError, type SharedState } from './shared-state.js';

export interface OwnerMarker {
  readonly issuer: string;
  readonly epoch: string;
  readonly claimed_at: string;
}

/** Not an HTTP error: raised when the broker starts (claiming its shared state), before it listens. */
export class StateOwnedByAnotherIssuerError extends Error {
  override readonly name = 'StateOwnedByAnotherIssuerError';
}

export const ownerKey = (prefix: string): string => `${prefix}owner`;

/** Parses the marker's value; undefined when it is not one (treated like another owner: never adopted). */
export function parseOwnerMarker(raw: string): OwnerMarker | undefined {
  try {
    const value = JSON.parse(raw) as Partial<OwnerMarker>;
    if (typeof value.issuer === 'string' && typeof value.epoch === 'string' && typeof value.claimed_at === 'string') {
      return { issuer: value.issuer, epoch: value.epoch, claimed_at: value.claimed_at };
    }
  } catch {
    // fall through
  }
  return undefined;
}

/** What a check of the marker means for a broker that remembers `epoch`. Pure. */
export function judgeMarker(raw: string | null, mine: OwnerMarker): 'ok' | 'lost' {
  if (raw === null) return 'lost';
  const marker = parseOwnerMarker(raw);
  return marker?.issuer === mine.issuer && marker.epoch === mine.epoch ? 'ok' : 'lost';
}

/** Claims the prefix for `issuer`, or adopts the claim of an earlier replica of the same issuer. */
export async function claimStateOwner(redis: RedisClient, prefix: string, issuer: string, nowMs = Date.now()): Promise<OwnerMarker & { claimed: boolean }> {
  const mine: OwnerMarker = { issuer, epoch: randomBytes(16).toString('base64url'), claimed_at: new Date(nowMs).toISOString() };
  const set = await redis.set(ownerKey(prefix), JSON.stringify(mine), 'NX');
  if (set === 'OK') return { ...mine, claimed: true };
  const raw = await redis.get(ownerKey(prefix));
  const marker = raw === null ? undefined : parseOwnerMarker(raw);
  if (marker === undefined) {
    throw new StateOwnedByAnotherIssuerError(`redis prefix "${prefix}": the owner marker ${ownerKey(prefix)} is ${raw === null ? 'vanishing while claimed' : 'not a broker owner marker'}; refusing to start on it`);
  }
  if (marker.issuer !== issuer) {
    throw new StateOwnedByAnotherIssuerError(
      `redis prefix "${prefix}" belongs to the broker with issuer ${marker.issuer} (claimed ${marker.claimed_at}), not ${issuer}: ` +
      'its suspensions and revocations are that broker\'s; give this broker its own redis.prefix',
    );
  }
  return { ...marker, claimed: false };
}

/** Methods whose answers decide that an agent is not suspended: refused once the epoch is lost. */
const GUARDED = new Set<PropertyKey>([
  'agentOverride', 'agentStatusSnapshot', 'eventsSince', 'listRevocations',
  // The revocation reads of introspection and the validators' feed: a wiped store would answer "nothing revoked".
  'revocationsByIds', 'revocationSnapshot', 'feedSince', 'feedPosition', 'feedKey',
]);
/** Of those, the ones that could lift a suspension at once (a full snapshot, a direct read): checked first. */
const CHECKED_FIRST = new Set<PropertyKey>(['agentOverride', 'agentStatusSnapshot']);

export class StateEpoch {
  #lost = false;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    readonly marker: OwnerMarker,
    private readonly log: Logger,
    intervalMs = 1000,
  ) {
    this.#timer = setInterval(() => { void this.check().catch(() => undefined); }, intervalMs);
    this.#timer.unref();
  }

  get lost(): boolean {
    return this.#lost;
  }

  /** Reads the marker; a read failure (Redis down) proves nothing and is rethrown. Once lost, lost until restart. */
  async check(): Promise<'ok' | 'lost'> {
    if (this.#lost) return 'lost';
    const raw = await this.redis.get(ownerKey(this.prefix));
    if (judgeMarker(raw, this.marker) === 'ok') return 'ok';
    this.#markLost(raw);
    return 'lost';
  }

  /** Once, however many checks were in flight: one log line. */
  #markLost(raw: string | null): void {
    if (this.#lost) return;
    this.#lost = true;
    this.log.error({ prefix: this.prefix, epoch: this.marker.epoch, marker: raw === null ? null : parseOwnerMarker(raw) ?? 'unreadable' },
      'state_epoch_lost: the redis data this broker started on is gone (restart without persistence, flush, or failover to an empty replica); ' +
      'suspensions and revocations may have been lost: exchanges are refused; re-issue them (broker audit query for admin_action records), then restart this replica');
  }

  /** The state, with the reads that decide "not suspended" refused once the epoch is lost. */
  guard<S extends SharedState>(state: S): S {
    // Bound once per method: the hot path (rate-limit windows, one-time claims) pays no allocation per call.
    const bound = new Map<PropertyKey, unknown>();
    return new Proxy(state, {
      get: (target, prop, receiver) => {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        const cached = bound.get(prop);
        if (cached !== undefined) return cached;
        const fn = value as (...args: unknown[]) => unknown;
        const wrapped = GUARDED.has(prop) ? this.#guarded(prop, fn, target) : fn.bind(target);
        bound.set(prop, wrapped);
        return wrapped;
      },
    });
  }

  #guarded(prop: PropertyKey, fn: (...args: unknown[]) => unknown, target: object) {
    return async (...args: unknown[]): Promise<unknown> => {
      if (CHECKED_FIRST.has(prop)) {
        try {
          await this.check();
        } catch (cause) {
          throw new StateUnavailableError('redis: the state epoch cannot be read', { cause });
        }
      }
      if (this.#lost) throw new StateUnavailableError('redis state epoch lost: suspensions may have been lost');
      return fn.apply(target, args);
    };
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
