/**
 * Throttles failed secret checks per source address and per client id (issue 14 item 3), so that one source,
 * or many sources guessing one agent's secret, cannot keep the hash gate busy. Counted in the shared state's
 * sliding windows (`hit`, one count per failure, shared by every replica); a key over its limit is blocked
 * locally until its window turns, and the check is refused with 429 and Retry-After before any hashing.
 * A replica learns of a block from its own next failure's count, so every replica hashes at most one extra
 * wrong secret per key and window.
 *
 * When the shared state cannot be reached the counts fall back to this replica's memory: the throttle then
 * holds per replica instead of across all of them. Refusing every uncached check instead would lock every
 * agent out of a replica that just started, and it would not make authentication any safer: a wrong secret
 * is refused either way (authentication fails closed), and the gate's rate bound holds without Redis.
 * Successful checks are never counted, and a secret already verified (verified-secret-cache.ts) never
 * reaches the throttle: an attacker who floods an agent's id cannot lock out that agent while it keeps its
 * verified secret in use (the lockout risk is for the first check on a replica while a flood goes on).
 */
import { createHash } from 'node:crypto';
import { MemoryState } from '../state/memory-state.js';
import type { SharedState } from '../state/shared-state.js';

export interface ThrottleLimit { readonly limit: number; readonly windowMs: number }

export interface FailureThrottleOptions {
  readonly perAddress: ThrottleLimit;
  readonly perClient: ThrottleLimit;
}

export const DEFAULT_FAILURE_THROTTLE: FailureThrottleOptions = {
  perAddress: { limit: 20, windowMs: 60_000 },
  perClient: { limit: 60, windowMs: 60_000 },
};

/**
 * Until when a key whose sliding count reached its limit stays blocked. Pure. The sliding count is the current
 * window's count plus the previous one's, weighted by how much of it still overlaps (shared-state.ts). Once the
 * window turns, today's count (at most `count`) becomes the previous one and fades linearly; the block lasts
 * until one more failure could no longer reach the limit: `count × (1 − x/W) + 1 < limit`, i.e. into the next
 * window by x = W × (1 − (limit − 1) / count). Unblocking at the turn itself would hand out one free hash per
 * key at every window boundary.
 */
export function blockedUntil(count: number, limit: ThrottleLimit, nowMs: number): number | undefined {
  if (count < limit.limit) return undefined;
  const nextWindow = nowMs - (nowMs % limit.windowMs) + limit.windowMs;
  return nextWindow + Math.ceil((limit.windowMs * (count - (limit.limit - 1))) / count);
}

/**
 * Not an error of the HTTP error model: raised inside oidc-provider's client authentication, where
 * agent-secret-guard.ts turns it into the refusal with the denial reason `client_authentication_throttled`
 * (429, src/exchange/reasons.ts), rendered by the token endpoint or /revoke.
 */
export class FailureThrottledError extends Error {
  override readonly name = 'FailureThrottledError';
  constructor(readonly retryAfterSeconds: number, readonly scope: 'address' | 'client') {
    super('too many failed authentications; retry later');
  }
}

/** Counter keys: bounded length whatever the caller sent (client ids are attacker-chosen). */
function counterKey(kind: 'addr' | 'client', value: string): string {
  return `authfail:${kind}:${createHash('sha256').update(value).digest('base64url').slice(0, 22)}`;
}

export class FailureThrottle {
  /** The fallback counts; they grow only by failures that were hashed, which the gate's rate bounds. */
  readonly #local = new MemoryState();
  readonly #blocked = new Map<string, number>();

  constructor(
    private readonly state: SharedState,
    private readonly options: FailureThrottleOptions = DEFAULT_FAILURE_THROTTLE,
    private readonly now: () => number = Date.now,
    private readonly onStateError: (err: unknown) => void = () => undefined,
  ) {}

  /** Throws FailureThrottledError if the address or the client id is blocked; no I/O. */
  check(address: string, clientId: string): void {
    const now = this.now();
    for (const [key, scope] of [[counterKey('addr', address), 'address'], [counterKey('client', clientId), 'client']] as const) {
      const until = this.#blocked.get(key);
      if (until === undefined) continue;
      if (until > now) throw new FailureThrottledError(Math.max(1, Math.ceil((until - now) / 1000)), scope);
      this.#blocked.delete(key);
    }
  }

  /** Counts one failure for the address and for the client id, and blocks either if it reached its limit. */
  async failed(address: string, clientId: string): Promise<void> {
    const now = this.now();
    await Promise.all([
      this.#count(counterKey('addr', address), this.options.perAddress, now),
      this.#count(counterKey('client', clientId), this.options.perClient, now),
    ]);
  }

  async #count(key: string, limit: ThrottleLimit, now: number): Promise<void> {
    let count: number;
    try {
      count = await this.state.hit(key, limit.windowMs, now);
    } catch (err) {
      this.onStateError(err);
      count = await this.#local.hit(key, limit.windowMs, now);
    }
    const until = blockedUntil(count, limit, now);
    if (until === undefined) return;
    // Bounded: a flood of distinct keys cannot grow the map without limit (expired blocks go first).
    if (this.#blocked.size >= 100_000) {
      for (const [k, u] of this.#blocked) if (u <= now) this.#blocked.delete(k);
      if (this.#blocked.size >= 100_000) this.#blocked.clear();
    }
    this.#blocked.set(key, until);
  }
}
