/** The validator's in-memory DPoP replay cache: one use per jti within the window, bounded, fail closed when full. */
import { describe, expect, it } from 'vitest';
import { ReplayCache } from '../../src/sdk/validator/replay-cache.js';

describe('ReplayCache', () => {
  it('accepts a proof id once while it lives, again after it expired', () => {
    let now = 1000;
    const cache = new ReplayCache(100, 10, 10, () => now);
    expect(cache.claim('k1', 'a')).toBe('fresh');
    expect(cache.claim('k1', 'a')).toBe('replayed');
    now += 99;
    expect(cache.claim('k1', 'a')).toBe('replayed');
    now += 1;
    expect(cache.claim('k1', 'a')).toBe('fresh');
  });

  it('keeps the same id under two keys apart (a proof id is only unique per key)', () => {
    const cache = new ReplayCache(100, 10, 10, () => 0);
    expect(cache.claim('k1', 'a')).toBe('fresh');
    expect(cache.claim('k2', 'a')).toBe('fresh');
    expect(cache.claim('k2', 'a')).toBe('replayed');
  });

  it('is bounded: when full of live entries it reports full instead of forgetting one, and when there is room again', () => {
    let now = 0;
    const cache = new ReplayCache(100, 2, 2, () => now);
    expect(cache.claim('k1', 'a')).toBe('fresh');
    now = 10;
    expect(cache.claim('k2', 'b')).toBe('fresh');
    expect(cache.claim('k3', 'c')).toBe('full');
    expect(cache.msUntilRoom()).toBe(90); // the oldest entry ('a') expires at 100
    expect(cache.claim('k1', 'a')).toBe('replayed'); // a full cache still recognises a replay
    now = 100;
    expect(cache.msUntilRoom()).toBe(0);
    expect(cache.claim('k3', 'c')).toBe('fresh');
    expect(cache.size).toBe(2);
  });

  it('caps one key at its share: that key gets owner_full, every other key keeps working, and the share frees as entries expire', () => {
    let now = 0;
    const cache = new ReplayCache(100, 10, 3, () => now);
    for (const id of ['1', '2', '3']) expect(cache.claim('flood', id)).toBe('fresh');
    expect(cache.claim('flood', '4')).toBe('owner_full');
    expect(cache.claim('flood', '1')).toBe('replayed'); // replays are still told apart from a full share
    expect(cache.heldBy('flood')).toBe(3);
    expect(cache.claim('other', '1')).toBe('fresh');
    expect(cache.size).toBe(4); // the refused claim was not remembered
    now = 100;
    expect(cache.claim('flood', '4')).toBe('fresh');
    expect(cache.heldBy('flood')).toBe(1);
    expect(cache.heldBy('other')).toBe(0);
  });
});
