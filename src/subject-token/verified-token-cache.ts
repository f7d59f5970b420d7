/**
 * Remembers tokens whose signature and static claims have already been verified, so that an agent
 * exchanging one user token for many tool calls pays for one signature check, not one per call.
 *
 * Keyed by the SHA-256 of the whole compact token (so any byte changed is a different key). An entry is
 * only ever created after a complete, successful verification, and is used again only while:
 *   - the issuer's key set is the one that verified it (same fetch generation, still within its cache
 *     age): a JWKS refetch — rotation, a key withdrawn after compromise — or staleness drops it;
 *   - the token's time claims still hold at the new time (`exp`, `nbf`, maximum age, with the same skew
 *     as a full verification). When they do not, the caller verifies fully and gets the exact denial.
 * Denials are never cached. The map is bounded (oldest entry evicted first); 0 entries disables it.
 */
import type { JWTPayload } from 'jose';

export interface CachedVerification<T> {
  readonly value: T;
  readonly payload: JWTPayload;
  /** The issuer key-set generation the token was verified under. */
  readonly generation: number;
  readonly maxTokenAgeSeconds: number | undefined;
}

export interface VerifiedTokenCacheOptions {
  readonly maxEntries: number;
  readonly clockSkewSeconds: number;
}

export class VerifiedTokenCache<T> {
  readonly #entries = new Map<string, CachedVerification<T>>();

  constructor(private readonly options: VerifiedTokenCacheOptions) {}

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The remembered verification of `key`, if it is still valid at `nowMs` and `currentGeneration(value)`
   * (the verifying issuer's key-set generation now) is the one it was verified under.
   */
  get(key: string, nowMs: number, currentGeneration: (value: T) => number | undefined): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const generation = currentGeneration(entry.value);
    if (generation === undefined || entry.generation !== generation || !timeClaimsHold(entry, nowMs, this.options.clockSkewSeconds)) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, entry: CachedVerification<T>): void {
    if (this.options.maxEntries <= 0) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.options.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, entry);
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** The time-dependent checks of a full verification (jose's, with the same tolerance), nothing looser. */
function timeClaimsHold(entry: CachedVerification<unknown>, nowMs: number, skew: number): boolean {
  const now = Math.floor(nowMs / 1000);
  const { exp, nbf, iat } = entry.payload;
  if (typeof exp !== 'number' || exp <= now - skew) return false;
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + skew)) return false;
  if (entry.maxTokenAgeSeconds !== undefined) {
    if (typeof iat !== 'number') return false;
    const age = now - iat;
    if (age - skew > entry.maxTokenAgeSeconds || age < -skew) return false;
  }
  return true;
}
