/**
 * The validator's DPoP replay cache (RFC 9449 §11.1): each proof `jti` is accepted once while a proof
 * carrying it could still be fresh. In memory, bounded: entries share one TTL, so insertion order is expiry
 * order and expired entries are dropped from the front. When the cache is full of live entries the
 * validator cannot tell a replay from a new proof and fails closed.
 */
export class ReplayCache {
  readonly #entries = new Map<string, number>();

  constructor(private readonly ttlMs: number, private readonly maxEntries: number, private readonly now: () => number = Date.now) {}

  /** 'fresh' the first time, 'replayed' while an earlier use lives, 'full' when nothing more can be remembered. */
  claim(key: string): 'fresh' | 'replayed' | 'full' {
    const now = this.now();
    for (const [k, expires] of this.#entries) {
      if (expires > now) break;
      this.#entries.delete(k);
    }
    if (this.#entries.has(key)) return 'replayed';
    if (this.#entries.size >= this.maxEntries) return 'full';
    this.#entries.set(key, now + this.ttlMs);
    return 'fresh';
  }

  get size(): number {
    return this.#entries.size;
  }
}
