/**
 * The bounded gate in front of every agent-secret hash (scrypt, tens of milliseconds by design). Without it each
 * wrong secret took one of libuv's four pool threads, shared with the attribution log's synced writes: 32
 * connections of wrong secrets took legitimate exchanges from 5 ms to 657 ms (issue 14 item 3). The gate
 * bounds three things and refuses, at once and without hashing, whatever exceeds them:
 *   - concurrency (default 1): at most one pool thread ever hashes, the other three stay free for the
 *     attribution log's writes, so they never queue behind password hashing;
 *   - a queue (default 8 waiting checks): beyond it the answer is 503 with Retry-After;
 *   - a rate (token bucket, default 10 hashes/s, burst 20): bounds the CPU an attacker with many addresses
 *     and many client ids can make the broker spend on hashing (10 × ~30 ms = a third of one core).
 * Pure bookkeeping over a clock; the hash itself is the caller's function.
 */

export interface SecretCheckGateOptions {
  readonly concurrency?: number;
  readonly maxQueued?: number;
  readonly ratePerSecond?: number;
  readonly burst?: number;
  readonly now?: () => number;
}

export const DEFAULT_SECRET_CHECK_GATE = { concurrency: 1, maxQueued: 8, ratePerSecond: 10, burst: 20 } as const;

/**
 * The gate refused a check: answer `503 temporarily_unavailable` with `Retry-After: retryAfterSeconds`.
 * Not an error of the HTTP error model: it is raised inside oidc-provider's client authentication, where
 * agent-secret-guard.ts turns it into oidc-provider's refusal carrying the denial reason
 * `client_authentication_busy` (src/exchange/reasons.ts), rendered by the token endpoint or /revoke.
 */
export class SecretCheckBusyError extends Error {
  override readonly name = 'SecretCheckBusyError';
  constructor(readonly retryAfterSeconds: number) {
    super('too many client secret checks in progress; retry later');
  }
}

export class SecretCheckGate {
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  #tokens: number;
  #refilledAt: number;

  constructor(options: SecretCheckGateOptions = {}) {
    this.#concurrency = options.concurrency ?? DEFAULT_SECRET_CHECK_GATE.concurrency;
    this.#maxQueued = options.maxQueued ?? DEFAULT_SECRET_CHECK_GATE.maxQueued;
    this.#rate = options.ratePerSecond ?? DEFAULT_SECRET_CHECK_GATE.ratePerSecond;
    this.#burst = options.burst ?? DEFAULT_SECRET_CHECK_GATE.burst;
    this.#now = options.now ?? Date.now;
    this.#tokens = this.#burst;
    this.#refilledAt = this.#now();
  }

  /** Checks running now, and waiting: for tests and metrics. */
  get load(): { readonly active: number; readonly queued: number } {
    return { active: this.#active, queued: this.#waiting.length };
  }

  /** Runs `check` within the bounds, or throws SecretCheckBusyError at once. */
  async run<T>(check: () => Promise<T>): Promise<T> {
    this.#takeToken();
    if (this.#active >= this.#concurrency) {
      if (this.#waiting.length >= this.#maxQueued) throw new SecretCheckBusyError(1);
      await new Promise<void>((resolve) => { this.#waiting.push(resolve); });
    } else {
      this.#active += 1;
    }
    try {
      return await check();
    } finally {
      // Hand the slot straight to the next waiter (active stays the same), or free it.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active -= 1;
    }
  }

  #takeToken(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#rate);
    this.#refilledAt = now;
    if (this.#tokens < 1) throw new SecretCheckBusyError(Math.max(1, Math.ceil((1 - this.#tokens) / this.#rate)));
    this.#tokens -= 1;
  }
}
