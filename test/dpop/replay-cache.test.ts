/** The validator's in-memory DPoP replay cache: one use per jti within the window, bounded, fail closed when full. */
import { describe, expect, it } from 'vitest';
import { ReplayCache } from '../../src/sdk/validator/replay-cache.js';

describe('ReplayCache', () => {
  it('accepts a key once while it lives, again after it expired', () => {
    let now = 1000;
    const cache = new ReplayCache(100, 10, () => now);
    expect(cache.claim('a')).toBe('fresh');
    expect(cache.claim('a')).toBe('replayed');
    now += 99;
    expect(cache.claim('a')).toBe('replayed');
    now += 1;
    expect(cache.claim('a')).toBe('fresh');
  });

  it('is bounded: when full of live entries it reports full instead of forgetting one', () => {
    let now = 0;
    const cache = new ReplayCache(100, 2, () => now);
    expect(cache.claim('a')).toBe('fresh');
    expect(cache.claim('b')).toBe('fresh');
    expect(cache.claim('c')).toBe('full');
    expect(cache.claim('a')).toBe('replayed');
    now = 100;
    expect(cache.claim('c')).toBe('fresh');
    expect(cache.size).toBe(1);
  });
});
