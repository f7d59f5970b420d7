import { describe, expect, it } from 'vitest';
import { VerifiedTokenCache, type CachedVerification } from '../../src/subject-token/verified-token-cache.js';

const NOW = 1_800_000_000;
const SKEW = 10;
const at = (seconds: number) => seconds * 1000;

function entry(payload: CachedVerification<string>['payload'], opts: { generation?: number; maxAge?: number } = {}): CachedVerification<string> {
  return { value: 'verified', payload, generation: opts.generation ?? 1, maxTokenAgeSeconds: opts.maxAge };
}
const gen = (g: number | undefined) => () => g;

describe('VerifiedTokenCache', () => {
  it('returns a remembered verification only under the same key-set generation', () => {
    const cache = new VerifiedTokenCache<string>({ maxEntries: 10, clockSkewSeconds: SKEW });
    cache.set('t', entry({ exp: NOW + 60 }));
    expect(cache.get('t', at(NOW), gen(1))).toBe('verified');
    expect(cache.get('t', at(NOW), gen(2))).toBeUndefined();
    // dropped for good: the old generation does not bring it back
    expect(cache.get('t', at(NOW), gen(1))).toBeUndefined();
  });

  it('never answers when the key set is stale or absent', () => {
    const cache = new VerifiedTokenCache<string>({ maxEntries: 10, clockSkewSeconds: SKEW });
    cache.set('t', entry({ exp: NOW + 60 }));
    expect(cache.get('t', at(NOW), gen(undefined))).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('applies exp with the same skew as a full verification (exp <= now - skew is expired)', () => {
    const cache = new VerifiedTokenCache<string>({ maxEntries: 10, clockSkewSeconds: SKEW });
    cache.set('t', entry({ exp: NOW }));
    expect(cache.get('t', at(NOW + SKEW - 1) + 999, gen(1))).toBe('verified');
    expect(cache.get('t', at(NOW + SKEW), gen(1))).toBeUndefined();
  });

  it('refuses an entry without a numeric exp', () => {
    const cache = new VerifiedTokenCache<string>({ maxEntries: 10, clockSkewSeconds: SKEW });
    cache.set('t', entry({}));
    expect(cache.get('t', at(NOW), gen(1))).toBeUndefined();
  });

  it('re-checks nbf when the clock is earlier than at verification', () => {
    const cache = new VerifiedTokenCache<string>({ maxEntries: 10, clockSkewSeconds: SKEW });
    cache.set('t', entry({ exp: NOW + 600, nbf: NOW }));
    expect(cache.get('t', at(NOW - SKEW), gen(1))).toBe('verified');
    expect(cache.get('t', at(NOW - SKEW - 1), gen(1))).toBeUndefined();
  });

  it('re-checks the issuer maximum token age, in both directions', () => {
    const cache = new VerifiedTokenCache<string>({ maxEntries: 10, clockSkewSeconds: SKEW });
    cache.set('old', entry({ exp: NOW + 3600, iat: NOW }, { maxAge: 300 }));
    expect(cache.get('old', at(NOW + 300 + SKEW), gen(1))).toBe('verified');
    expect(cache.get('old', at(NOW + 300 + SKEW + 1), gen(1))).toBeUndefined();
    cache.set('future', entry({ exp: NOW + 3600, iat: NOW }, { maxAge: 300 }));
    expect(cache.get('future', at(NOW - SKEW - 1), gen(1))).toBeUndefined();
    cache.set('no-iat', entry({ exp: NOW + 3600 }, { maxAge: 300 }));
    expect(cache.get('no-iat', at(NOW), gen(1))).toBeUndefined();
  });

  it('is bounded: the oldest entry goes first', () => {
    const cache = new VerifiedTokenCache<string>({ maxEntries: 3, clockSkewSeconds: SKEW });
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, entry({ exp: NOW + 60 }));
    expect(cache.size).toBe(3);
    expect(cache.get('a', at(NOW), gen(1))).toBeUndefined();
    expect(['b', 'c', 'd'].map((k) => cache.get(k, at(NOW), gen(1)))).toEqual(['verified', 'verified', 'verified']);
  });

  it('remembers nothing when sized 0', () => {
    const cache = new VerifiedTokenCache<string>({ maxEntries: 0, clockSkewSeconds: SKEW });
    cache.set('t', entry({ exp: NOW + 60 }));
    expect(cache.size).toBe(0);
    expect(cache.get('t', at(NOW), gen(1))).toBeUndefined();
  });
});
