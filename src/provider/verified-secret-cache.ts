/**
 * Verifying a client secret against its scrypt hash costs tens of milliseconds by design. An agent sends the
 * same secret on every exchange, so successful verifications are remembered in memory (keyed by an HMAC
 * under a per-process random key, never the secret itself). Failures are never cached. The hashing itself,
behind its gate and throttle, is src/auth/agent-secret-guard.ts.
 *
 * An entry lives `ttlMs` after its last use (sliding): an agent that keeps exchanging never falls out, so it
 * never needs another hash, never meets the hash gate or the failure throttle (src/auth/), and cannot be
 * locked out by someone flooding its id with wrong secrets.
 */
import { createHmac, randomBytes } from 'node:crypto';

export class VerifiedSecretCache {
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, number>();

  constructor(private readonly ttlMs = 5 * 60_000, private readonly maxEntries = 10_000, private readonly now: () => number = Date.now) {}

  #id(storedHash: string, presented: string): string {
    return createHmac('sha256', this.#key).update(storedHash).update('\0').update(presented).digest('base64url');
  }

  /** Whether this secret was verified against this hash recently; a hit extends the entry's life. No hashing. */
  verified(storedHash: string, presented: string): boolean {
    const id = this.#id(storedHash, presented);
    const now = this.now();
    const until = this.#entries.get(id);
    if (until === undefined) return false;
    if (until <= now) {
      this.#entries.delete(id);
      return false;
    }
    this.#entries.set(id, now + this.ttlMs);
    return true;
  }

  remember(storedHash: string, presented: string): void {
    if (this.#entries.size >= this.maxEntries) {
      const now = this.now();
      for (const [k, until] of this.#entries) if (until <= now) this.#entries.delete(k);
      if (this.#entries.size >= this.maxEntries) this.#entries.clear();
    }
    this.#entries.set(this.#id(storedHash, presented), this.now() + this.ttlMs);
  }
}
