/**
 * Agent `client_secret_basic` checks behind three guards (issue 14 item 3), one checker for both places
 * that authenticate agents, the token endpoint and `/revoke` (both run the client-authentication step,
 * src/token-endpoint/steps/client-authentication.ts):
 *   1. a secret already verified (verified-secret-cache.ts) answers at once: legitimate agents never hash
 *      again and never meet the guards below;
 *   2. the failure throttle (per source address and per client id; 429 + Retry-After, no hashing);
 *   3. the hash gate (one scrypt at a time, a short queue and a rate; 503 + Retry-After when full).
 * Unknown and known ids cost the same: a request that presents a secret for an unknown client id (or for
 * an agent that authenticates with private_key_jwt) gets the same gated scrypt against a dummy hash and the
 * same throttle, before it is refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import { verifyClientSecret } from '../provider/client-secret-hash.js';
import { VerifiedSecretCache } from '../provider/verified-secret-cache.js';
import type { FailureThrottle} from './failure-throttle.js';
import { FailureThrottledError } from './failure-throttle.js';
import type { SecretCheckGate } from './secret-check-gate.js';
import { SecretCheckBusyError } from './secret-check-gate.js';

/** A well-formed scrypt hash (default parameters) whose key is random: it matches no secret. */
const DUMMY_HASH = ['scrypt', 16384, 8, 1, randomBytes(16).toString('base64url'), randomBytes(32).toString('base64url')].join('$');

export interface AgentSecretGuardDeps {
  readonly gate: SecretCheckGate;
  readonly throttle: FailureThrottle;
  readonly cache?: VerifiedSecretCache;
  /** Uncached checks one source address may have in flight (default 1); more are refused as busy, unhashed. */
  readonly perAddressInFlight?: number;
}

/** The answer of one secret check; the refusals carry what the caller must send back (Retry-After). */
export type SecretCheckResult =
  | { readonly kind: 'verified' }
  | { readonly kind: 'wrong' }
  | { readonly kind: 'throttled'; readonly retryAfterSeconds: number; readonly scope: 'address' | 'client' }
  | { readonly kind: 'busy'; readonly retryAfterSeconds: number };

const VERIFIED: SecretCheckResult = { kind: 'verified' };
const WRONG: SecretCheckResult = { kind: 'wrong' };
const BUSY_NOW: SecretCheckResult = { kind: 'busy', retryAfterSeconds: 1 };

/**
 * Issue 14 item 3, a flood of wrong secrets made cheap: failures are only counted once their hash is done, so
 * N concurrent wrong secrets from one address would all pass the throttle and queue N hashes before the first
 * failure counts. One uncached check in flight per address instead: the others from that address are refused
 * at once (503 busy, Retry-After 1, no hashing), so an address hashes at most one secret at a time and reaches
 * its throttle limit after that many hashes, whatever its concurrency. Verified secrets (the cache) never
 * meet this bound, so an agent already working is never affected; and concurrent checks of the same secret
 * against the same hash share one hash (an agent starting with several requests at once hashes once).
 */
export class AgentSecretChecker {
  readonly #cache: VerifiedSecretCache;
  readonly #inFlight = new Map<string, number>();
  readonly #perAddress: number;
  /** Hashes running now, by a digest of (stored hash, presented secret): never the secret itself. */
  readonly #hashing = new Map<string, Promise<boolean>>();

  constructor(private readonly deps: AgentSecretGuardDeps) {
    this.#cache = deps.cache ?? new VerifiedSecretCache();
    this.#perAddress = deps.perAddressInFlight ?? 1;
  }

  /**
   * Checks `presented` against `storedHash` (undefined: no such secret agent; a dummy hash is checked, so
   * that the answer takes as long). Never throws for a refusal: throttled and busy are answers.
   */
  async check(storedHash: string | undefined, presented: string, clientId: string, address: string): Promise<SecretCheckResult> {
    if (storedHash !== undefined && this.#cache.verified(storedHash, presented)) return VERIFIED;
    try {
      this.deps.throttle.check(address, clientId);
    } catch (err) {
      if (err instanceof FailureThrottledError) return { kind: 'throttled', retryAfterSeconds: err.retryAfterSeconds, scope: err.scope };
      throw err;
    }
    const hash = storedHash ?? DUMMY_HASH;
    const key = createHash('sha256').update(hash).update('\0').update(presented).digest('base64url');
    const running = this.#hashing.get(key);
    if (running) {
      let ok: boolean;
      try {
        ok = await running;
      } catch (err) {
        if (err instanceof SecretCheckBusyError) return { kind: 'busy', retryAfterSeconds: err.retryAfterSeconds };
        throw err;
      }
      return this.#settle(ok, storedHash, presented, address, clientId);
    }
    const inFlight = this.#inFlight.get(address) ?? 0;
    if (inFlight >= this.#perAddress) return BUSY_NOW;
    this.#inFlight.set(address, inFlight + 1);
    const hashing = this.deps.gate.run(() => verifyClientSecret(hash, presented));
    this.#hashing.set(key, hashing);
    try {
      let ok: boolean;
      try {
        ok = await hashing;
      } catch (err) {
        if (err instanceof SecretCheckBusyError) return { kind: 'busy', retryAfterSeconds: err.retryAfterSeconds };
        throw err;
      }
      return await this.#settle(ok, storedHash, presented, address, clientId);
    } finally {
      this.#hashing.delete(key);
      const left = (this.#inFlight.get(address) ?? 1) - 1;
      if (left <= 0) this.#inFlight.delete(address);
      else this.#inFlight.set(address, left);
    }
  }

  async #settle(ok: boolean, storedHash: string | undefined, presented: string, address: string, clientId: string): Promise<SecretCheckResult> {
    if (ok && storedHash !== undefined) {
      this.#cache.remember(storedHash, presented);
      return VERIFIED;
    }
    // Every request counts its own failure, a shared hash included.
    await this.deps.throttle.failed(address, clientId);
    return WRONG;
  }
}

/** The refusal descriptions, one wording for both places. */
export function throttledDescription(scope: 'address' | 'client', retryAfterSeconds: number): string {
  return `too many failed client authentications from this ${scope}; retry after ${retryAfterSeconds} s`;
}
export const BUSY_DESCRIPTION = 'too many client secret checks in progress; retry shortly';
