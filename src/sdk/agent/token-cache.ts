/**
 * The agent SDK's token cache: bounded in entries, and an entry is gone once it is no longer usable (it
 * would be refreshed anyway), so a long-running agent serving many users holds neither unbounded memory nor
 * expired credentials. Oldest entries are evicted first when the bound is reached. Pure over a clock.
 */
export interface Expiring {
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

export class TokenCache<T extends Expiring> {
  readonly #entries = new Map<string, T>();
  #sweptAt = 0;

  constructor(
    private readonly maxEntries: number,
    /** An entry is usable until this long before its expiry. */
    private readonly skewMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('the token cache needs room for at least one entry');
  }

  get size(): number {
    return this.#entries.size;
  }

  #usable(entry: T, now: number): boolean {
    return entry.expiresAt - this.skewMs > now;
  }

  /** The entry if still usable; an unusable one is dropped. */
  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#usable(entry, this.now())) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  set(key: string, value: T): void {
    const now = this.now();
    this.#entries.delete(key);
    if (!this.#usable(value, now)) return;
    // Sweeping is O(n): at most once a second, or when the bound is reached.
    if (this.#entries.size >= this.maxEntries || now - this.#sweptAt >= 1_000) this.sweep();
    while (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, value);
  }

  /** Drops every entry that is no longer usable. */
  sweep(): void {
    const now = this.now();
    this.#sweptAt = now;
    for (const [key, entry] of this.#entries) if (!this.#usable(entry, now)) this.#entries.delete(key);
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  /** The key of the first entry matching `predicate`. */
  findKey(predicate: (entry: T) => boolean): string | undefined {
    for (const [key, entry] of this.#entries) if (predicate(entry)) return key;
    return undefined;
  }

  clear(): void {
    this.#entries.clear();
  }
}
