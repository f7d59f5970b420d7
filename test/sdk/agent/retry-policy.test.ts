import { describe, expect, it } from 'vitest';
import { nextAttempt, parseRetryAfter } from '../../../src/sdk/agent/retry-policy.js';

const settings = { retries: 2, backoffMs: 100, maxRetryAfterMs: 2000 };

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP-dates, and nothing else', () => {
    const now = Date.parse('2026-12-03T12:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 03 Dec 2026 12:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Thu, 03 Dec 2026 11:00:00 GMT', now)).toBe(0);
    for (const bad of [null, undefined, '', '-1', '1.5', 'soon', '2026-12-03T12:00:10Z', '99999999999']) expect(parseRetryAfter(bad, now)).toBeUndefined();
  });
});

describe('nextAttempt', () => {
  it('a 429 is retried only after its Retry-After, and only when that is short enough', () => {
    expect(nextAttempt({ code: 'temporarily_unavailable', status: 429, retryAfterMs: 1500 }, 0, settings)).toEqual({ retry: true, delayMs: 1500 });
    expect(nextAttempt({ code: 'temporarily_unavailable', status: 429, retryAfterMs: 60_000 }, 0, settings)).toEqual({ retry: false });
    expect(nextAttempt({ code: 'temporarily_unavailable', status: 429, retryAfterMs: undefined }, 0, settings)).toEqual({ retry: true, delayMs: 1000 });
    expect(nextAttempt({ code: 'temporarily_unavailable', status: 429, retryAfterMs: 0 }, 2, settings)).toEqual({ retry: false });
  });

  it('5xx and temporarily_unavailable back off exponentially, never sooner than a Retry-After', () => {
    expect(nextAttempt({ code: 'temporarily_unavailable', status: 503, retryAfterMs: undefined }, 0, settings)).toEqual({ retry: true, delayMs: 100 });
    expect(nextAttempt({ code: 'server_error', status: 500, retryAfterMs: undefined }, 1, settings)).toEqual({ retry: true, delayMs: 200 });
    expect(nextAttempt({ code: 'temporarily_unavailable', status: 503, retryAfterMs: 5000 }, 0, settings)).toEqual({ retry: true, delayMs: 5000 });
    expect(nextAttempt({ code: 'http_error', status: 502, retryAfterMs: undefined }, 2, settings)).toEqual({ retry: false });
  });

  it('client errors are never retried', () => {
    for (const code of ['invalid_scope', 'invalid_target', 'invalid_client', 'invalid_request', 'network_error']) {
      expect(nextAttempt({ code, status: code === 'network_error' ? undefined : 400, retryAfterMs: undefined }, 0, settings)).toEqual({ retry: false });
    }
  });
});
