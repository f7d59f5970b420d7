/**
 * When the agent SDK may ask the broker again after a failed exchange: pure functions over the failure and
 * a clock. A `429` (RFC 6585 §4) is never repeated before its `Retry-After` (RFC 9110 §10.2.3): the broker
 * counts every rate-limited request towards its kill switch, so an eager retry turns one refusal into a
 * suspension. 5xx / `temporarily_unavailable` answers are retried with exponential backoff, never sooner
 * than a `Retry-After` they carry.
 */

/** Milliseconds a `Retry-After` value asks to wait (delta-seconds or an HTTP-date), or undefined if unusable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,9}$/u.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP-date is at least "Sun, 06 Nov 1994 08:49:37 GMT"; anything else that Date.parse accepts is not one.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/u.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** What failed, as far as retrying is concerned. */
export interface FailedAttempt {
  readonly code: string;
  readonly status: number | undefined;
  /** The answer's `Retry-After`, in ms from now, if it had one. */
  readonly retryAfterMs?: number | undefined;
}

export interface RetrySettings {
  /** Retries after the first attempt. */
  readonly retries: number;
  readonly backoffMs: number;
  /** A `429` asking for a longer wait than this is not waited for: the call fails at once. */
  readonly maxRetryAfterMs: number;
}

/** Without a `Retry-After`, a `429` is taken to mean this long (RFC 6585 leaves it open). */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 1_000;

export function isRateLimited(failure: FailedAttempt): boolean {
  return failure.status === 429;
}

/** How long a rate-limited answer forbids asking again (ms from now). */
export function rateLimitWaitMs(failure: FailedAttempt): number {
  return failure.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS;
}

/** Whether to try again after `attempt` (0 = the first) failed, and after how long. */
export function nextAttempt(failure: FailedAttempt, attempt: number, settings: RetrySettings): { readonly retry: false } | { readonly retry: true; readonly delayMs: number } {
  if (attempt >= settings.retries) return { retry: false };
  if (isRateLimited(failure)) {
    const wait = rateLimitWaitMs(failure);
    return wait <= settings.maxRetryAfterMs ? { retry: true, delayMs: wait } : { retry: false };
  }
  const transient = failure.code === 'temporarily_unavailable' || failure.code === 'server_error' || (failure.status !== undefined && failure.status >= 500);
  if (!transient) return { retry: false };
  return { retry: true, delayMs: Math.max(settings.backoffMs * 2 ** attempt, failure.retryAfterMs ?? 0) };
}
