/**
 * Which key signs and which keys are published, as a pure function of the key files, the clock and the
 * longest token lifetime. Rotation without a gap for validators that cache the JWKS:
 *
 *   next     published, not signing: validators refreshing their JWKS cache learn it before any token
 *            carries its kid ("publish before sign");
 *   active   the signer: of every key that may sign now (status active, or next whose activate_at has
 *            passed), the one activated last;
 *   retired  no longer signing (superseded by a later activation, or retired_at set), still published
 *            until every token it signed has expired: retired + max token lifetime + clock skew;
 *   expired  neither signs nor is published: tokens carrying its kid no longer verify (RFC 7517 §4.5 kid).
 *
 * A superseded active key is retired at the moment its successor activated, so the files need no rewrite
 * when a next key takes over (every replica reaches the same answer from the same files and clock).
 */
import type { KeyRecord } from './key-file.js';

export type EffectiveState = 'next' | 'active' | 'retired' | 'expired';

export interface ScheduledKey {
  readonly kid: string;
  readonly state: EffectiveState;
  /** next: when it will sign; retired/expired: when it stopped signing; active: when it started. */
  readonly sinceMs: number;
  /** retired: when it leaves the JWKS. */
  readonly unpublishAtMs?: number;
}

export interface KeySchedule {
  /** The key that signs now; undefined when no key may sign (a configuration error). */
  readonly signing: string | undefined;
  /** Every key in the JWKS now: the signer first, then next keys, then retired keys still needed. */
  readonly published: readonly string[];
  readonly keys: readonly ScheduledKey[];
}

export interface ScheduleOptions {
  /** The longest lifetime any token the broker mints can have (the catalog's largest max_ttl). */
  readonly maxTokenLifetimeMs: number;
  readonly clockSkewMs: number;
}

type Timed = Pick<KeyRecord, 'kid' | 'status' | 'createdMs' | 'activateAtMs' | 'retiredAtMs'>;

const activation = (k: Timed): number => k.activateAtMs ?? k.createdMs;

/** Later activation first; a tie is broken by kid so that every replica picks the same key. */
const byActivationDesc = (a: Timed, b: Timed): number => activation(b) - activation(a) || (a.kid < b.kid ? 1 : a.kid > b.kid ? -1 : 0);

export function keySchedule(records: readonly Timed[], nowMs: number, options: ScheduleOptions): KeySchedule {
  const eligible = records
    .filter((k) => k.status === 'active' || (k.status === 'next' && activation(k) <= nowMs))
    .sort(byActivationDesc);
  const signer = eligible[0];
  const keys: ScheduledKey[] = [];
  const grace = options.maxTokenLifetimeMs + options.clockSkewMs;
  const retired = (kid: string, sinceMs: number): ScheduledKey => {
    const unpublishAtMs = sinceMs + grace;
    return unpublishAtMs > nowMs ? { kid, state: 'retired', sinceMs, unpublishAtMs } : { kid, state: 'expired', sinceMs };
  };
  for (const key of records) {
    if (key.status === 'retired') {
      keys.push(retired(key.kid, key.retiredAtMs ?? key.createdMs));
    } else if (key.status === 'next' && activation(key) > nowMs) {
      keys.push({ kid: key.kid, state: 'next', sinceMs: activation(key) });
    } else if (key === signer) {
      keys.push({ kid: key.kid, state: 'active', sinceMs: activation(key) });
    } else {
      // Superseded: it stopped signing when the first key activated after it did.
      const own = activation(key);
      const successors = eligible.filter((k) => k !== key && byActivationDesc(k, key) < 0);
      const supersededAt = Math.min(...successors.map(activation).filter((t) => t >= own));
      keys.push(retired(key.kid, Number.isFinite(supersededAt) ? supersededAt : own));
    }
  }
  const rank: Record<EffectiveState, number> = { active: 0, next: 1, retired: 2, expired: 3 };
  const published = keys
    .filter((k) => k.state !== 'expired')
    .sort((a, b) => rank[a.state] - rank[b.state] || b.sinceMs - a.sinceMs)
    .map((k) => k.kid);
  return { signing: signer?.kid, published, keys };
}

/**
 * The files rewritten to what the schedule says now (`broker keys rotate` tidies up with it): a next key
 * that took over becomes active, a superseded active key becomes retired with its retired_at. Applying it
 * changes nothing the schedule decides, at this time or later.
 */
export function settle<K extends Timed>(records: readonly K[], nowMs: number, options: ScheduleOptions): K[] {
  const schedule = keySchedule(records, nowMs, options);
  const byKid = new Map(schedule.keys.map((k) => [k.kid, k]));
  return records.map((record) => {
    const state = byKid.get(record.kid);
    if (state === undefined) return record;
    if (state.state === 'active' && record.status === 'next') return { ...record, status: 'active' };
    if ((state.state === 'retired' || state.state === 'expired') && record.status !== 'retired') {
      return { ...record, status: 'retired', retiredAtMs: state.sinceMs };
    }
    return record;
  });
}
