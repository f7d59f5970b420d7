/**
 * The validator's DPoP replay cache (RFC 9449 §11.1): each proof `jti` is accepted once while a proof
 * carrying it could still be fresh. In memory, bounded: entries share one TTL, so insertion order is expiry
 * order and expired entries are dropped from the front. When the cache is full of live entries the
 * validator cannot tell a replay from a new proof and fails closed.
 *
 * Each proof key (its thumbprint, the owner) may hold at most `maxPerOwner` live entries, so one key sending
 * proofs as fast as it can runs into its own limit ('owner_full') and cannot fill the cache for every other
 * client of the service.
 */
export type ClaimResult = 'fresh' | 'replayed' | 'full' | 'owner_full';

/**
 * Where a validator remembers proofs when it is not alone (`dpop.replayStore`): shared by every replica of the
 * service, e.g. `redisReplayStore`. `claim` claims proof `id` of key `owner` for `ttlMs`; a rejection means
 * the state is unknown, and the validator fails closed (503).
 */
export interface DpopReplayStore {
  claim(owner: string, id: string, ttlMs: number): Promise<ClaimResult>;
}

interface Entry {
  readonly expires: number;
  readonly owner: string;
}

export class ReplayCache {
  readonly #entries = new Map<string, Entry>();
  readonly #perOwner = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly maxPerOwner: number = maxEntries,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Claims `id` for `owner`: 'fresh' the first time, 'replayed' while an earlier use lives, 'full' when
   * nothing more can be remembered, 'owner_full' when this owner already holds its share of live entries.
   */
  claim(owner: string, id: string): ClaimResult {
    const now = this.now();
    this.#dropExpired(now);
    const key = `${owner}:${id}`;
    if (this.#entries.has(key)) return 'replayed';
    const held = this.#perOwner.get(owner) ?? 0;
    if (held >= this.maxPerOwner) return 'owner_full';
    if (this.#entries.size >= this.maxEntries) return 'full';
    this.#entries.set(key, { expires: now + this.ttlMs, owner });
    this.#perOwner.set(owner, held + 1);
    return 'fresh';
  }

  /** Milliseconds until the oldest live entry expires (0 when there is room now). */
  msUntilRoom(): number {
    if (this.#entries.size < this.maxEntries) return 0;
    const oldest = this.#entries.values().next();
    return oldest.done === true ? 0 : Math.max(0, oldest.value.expires - this.now());
  }

  /** The longest an owner waits until all of its present entries have expired: the TTL. */
  get ttl(): number {
    return this.ttlMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Live entries held by `owner`. */
  heldBy(owner: string): number {
    return this.#perOwner.get(owner) ?? 0;
  }

  #dropExpired(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expires > now) break;
      this.#entries.delete(key);
      const held = (this.#perOwner.get(entry.owner) ?? 1) - 1;
      if (held <= 0) this.#perOwner.delete(entry.owner);
      else this.#perOwner.set(entry.owner, held);
    }
  }
}
