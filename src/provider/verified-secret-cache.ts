/**
 * Verifying a client secret against its scrypt hash costs tens of milliseconds by design. An agent sends the
 * same secret on every exchange, so successful verifications are remembered in memory (keyed by an HMAC
 * under a per-process random key, never the secret itself) for a few minutes. Failures are never cached.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { verifyClientSecret } from './client-secret-hash.js';

export class VerifiedSecretCache {
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, number>();

  constructor(private readonly ttlMs = 5 * 60_000, private readonly maxEntries = 10_000) {}

  async verify(storedHash: string, presented: string): Promise<boolean> {
    const id = createHmac('sha256', this.#key).update(storedHash).update('\0').update(presented).digest('base64url');
    const now = Date.now();
    const until = this.#entries.get(id);
    if (until !== undefined && until > now) return true;
    const ok = await verifyClientSecret(storedHash, presented);
    if (ok) {
      if (this.#entries.size >= this.maxEntries) this.#entries.clear();
      this.#entries.set(id, now + this.ttlMs);
    }
    return ok;
  }
}
