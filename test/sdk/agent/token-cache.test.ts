import { describe, expect, it } from 'vitest';
import { TokenCache } from '../../../src/sdk/agent/token-cache.js';

describe('TokenCache', () => {
  it('is bounded: the oldest entry goes first', () => {
    const now = 1_000_000;
    const cache = new TokenCache<{ expiresAt: number; id: number }>(3, 30_000, () => now);
    for (let i = 0; i < 5; i += 1) cache.set(`k${i}`, { expiresAt: now + 3_600_000, id: i });
    expect(cache.size).toBe(3);
    expect(cache.get('k0')).toBeUndefined();
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k4')?.id).toBe(4);
  });

  it('drops entries once they are no longer usable (expiry minus the refresh skew), on lookup and by sweeping', () => {
    let now = 1_000_000;
    const cache = new TokenCache<{ expiresAt: number }>(100, 30_000, () => now);
    cache.set('short', { expiresAt: now + 40_000 });
    cache.set('long', { expiresAt: now + 3_600_000 });
    expect(cache.get('short')).toBeDefined();
    now += 10_001;
    expect(cache.get('short')).toBeUndefined();
    expect(cache.size).toBe(1);
    cache.set('a', { expiresAt: now + 31_000 });
    cache.set('b', { expiresAt: now + 31_000 });
    now += 2_000;
    cache.set('c', { expiresAt: now + 3_600_000 }); // a set more than a second after the last sweep sweeps
    expect(cache.size).toBe(2);
  });

  it('never stores an entry that is already unusable, and refuses a bound below one', () => {
    const cache = new TokenCache<{ expiresAt: number }>(10, 30_000, () => 0);
    cache.set('x', { expiresAt: 30_000 });
    expect(cache.size).toBe(0);
    expect(() => new TokenCache(0, 0)).toThrow(RangeError);
  });
});
