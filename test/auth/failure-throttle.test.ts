/** Failed secret checks throttled per address and per client id, shared through the state, local fallback. */
import { describe, expect, it } from 'vitest';
import { blockedUntil, FailureThrottle, FailureThrottledError } from '../../src/auth/failure-throttle.js';
import { MemoryState } from '../../src/state/memory-state.js';
import { StateUnavailableError, type SharedState } from '../../src/state/shared-state.js';

const LIMITS = { perAddress: { limit: 3, windowMs: 60_000 }, perClient: { limit: 5, windowMs: 60_000 } };

function refusal(fn: () => void): FailureThrottledError | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof FailureThrottledError) return err;
    throw err;
  }
}

describe('blockedUntil', () => {
  it('blocks from the limit on, into the next window until one more failure could not reach the limit', () => {
    expect(blockedUntil(2, { limit: 3, windowMs: 60_000 }, 120_500)).toBeUndefined();
    // 3 failures fade to 2 (+1 = 3, still the limit) only after a third of the next window.
    expect(blockedUntil(3, { limit: 3, windowMs: 60_000 }, 120_500)).toBe(180_000 + 20_000);
    expect(blockedUntil(30, { limit: 3, windowMs: 60_000 }, 120_500)).toBe(180_000 + 56_000);
    expect(blockedUntil(1, { limit: 1, windowMs: 60_000 }, 120_500)).toBe(240_000);
  });

  it('the block holds across a window boundary: no free hash when the window turns', async () => {
    let now = 60_000 * 100 + 59_900; // 100 ms before the window turns
    const throttle = new FailureThrottle(new MemoryState(), LIMITS, () => now);
    for (let i = 0; i < 3; i += 1) await throttle.failed('10.0.0.7', 'a');
    now += 200; // the next window
    expect(refusal(() => { throttle.check('10.0.0.7', 'a'); })?.scope).toBe('address');
  });
});

describe('FailureThrottle', () => {
  it('blocks an address after its limit of failures, whatever client id it then tries, with Retry-After', async () => {
    let now = 60_000 * 100 + 10_000;
    const throttle = new FailureThrottle(new MemoryState(), LIMITS, () => now);
    for (let i = 0; i < 3; i += 1) {
      expect(refusal(() => { throttle.check('10.0.0.1', `agent-${i}`); })).toBeUndefined();
      await throttle.failed('10.0.0.1', `agent-${i}`);
    }
    const blocked = refusal(() => { throttle.check('10.0.0.1', 'another-agent'); });
    expect(blocked?.scope).toBe('address');
    expect(blocked?.retryAfterSeconds).toBe(70); // 50 s to the window's end, then a third of the next
    expect(refusal(() => { throttle.check('10.0.0.2', 'another-agent'); })).toBeUndefined();
    now += 70_000;
    expect(refusal(() => { throttle.check('10.0.0.1', 'another-agent'); })).toBeUndefined();
  });

  it('blocks a client id after its limit of failures from many addresses', async () => {
    const throttle = new FailureThrottle(new MemoryState(), LIMITS, () => 6_000_000);
    for (let i = 0; i < 5; i += 1) await throttle.failed(`10.0.1.${i}`, 'victim');
    expect(refusal(() => { throttle.check('10.0.2.1', 'victim'); })?.scope).toBe('client');
    expect(refusal(() => { throttle.check('10.0.2.1', 'someone-else'); })).toBeUndefined();
  });

  it('shares counts between replicas through the shared state', async () => {
    const shared = new MemoryState();
    const a = new FailureThrottle(shared, LIMITS, () => 6_000_000);
    const b = new FailureThrottle(shared, LIMITS, () => 6_000_000);
    await a.failed('10.0.0.9', 'x');
    await a.failed('10.0.0.9', 'y');
    expect(refusal(() => { b.check('10.0.0.9', 'z'); })).toBeUndefined();
    await b.failed('10.0.0.9', 'z'); // the third failure overall, counted at b
    expect(refusal(() => { b.check('10.0.0.9', 'w'); })?.scope).toBe('address');
  });

  it('counts locally when the shared state is unavailable (authentication itself is unaffected)', async () => {
    const broken = { hit: () => Promise.reject(new StateUnavailableError('down')) } as unknown as SharedState;
    const errors: unknown[] = [];
    const throttle = new FailureThrottle(broken, LIMITS, () => 6_000_000, (err) => errors.push(err));
    for (let i = 0; i < 3; i += 1) await throttle.failed('10.0.0.3', 'a');
    expect(refusal(() => { throttle.check('10.0.0.3', 'a'); })?.scope).toBe('address');
    expect(errors.length).toBeGreaterThan(0);
  });
});
