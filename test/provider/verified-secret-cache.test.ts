/** Verified agent secrets are remembered while in use (sliding), so a running agent never meets the hash gate. */
import { describe, expect, it } from 'vitest';
import { VerifiedSecretCache } from '../../src/provider/verified-secret-cache.js';

describe('VerifiedSecretCache', () => {
  it('remembers a verified secret for its hash only, and keeps it while it is used', () => {
    let now = 1_000_000;
    const cache = new VerifiedSecretCache(60_000, 100, () => now);
    expect(cache.verified('hash-a', 'secret')).toBe(false);
    cache.remember('hash-a', 'secret');
    expect(cache.verified('hash-a', 'secret')).toBe(true);
    expect(cache.verified('hash-a', 'other')).toBe(false);
    expect(cache.verified('hash-b', 'secret')).toBe(false);
    for (let i = 0; i < 5; i += 1) {
      now += 50_000; // used every 50 s: never expires
      expect(cache.verified('hash-a', 'secret')).toBe(true);
    }
    now += 60_001; // unused for longer than the TTL
    expect(cache.verified('hash-a', 'secret')).toBe(false);
  });

  it('stays bounded: expired entries go first', () => {
    let now = 0;
    const cache = new VerifiedSecretCache(10, 2, () => now);
    cache.remember('h', 'a');
    now = 5;
    cache.remember('h', 'b');
    now = 12; // 'a' expired
    cache.remember('h', 'c');
    expect(cache.verified('h', 'b')).toBe(true);
    expect(cache.verified('h', 'c')).toBe(true);
  });
});
