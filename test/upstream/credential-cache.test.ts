/** The upstream credential cache: served until shortly before expiry, dropped by a revocation of its agent, user or tool. */
import { describe, expect, it } from 'vitest';
import { cacheKey, entryRevokedBy, UpstreamCredentialCache, type CachedCredential } from '../../src/upstream/credential-cache.js';
import type { Revocation } from '../../src/state/shared-state.js';

const entry = (obtainedAtMs: number, expiresAtMs: number): CachedCredential => ({
  credential: { accessToken: 't', tokenType: 'Bearer', expiresAtMs, scopes: ['r'] }, obtainedAtMs, user: 'alice', tool: 'a', agents: ['a-tool', 'agent-1'],
});
const rule = (kind: Revocation['kind'], value: string, issuedBefore: number): Revocation => ({ id: `${kind}:${value}`, kind, value, issuedBefore, expiresAt: issuedBefore + 3600, reason: 'r', by: 'b', at: issuedBefore });

describe('UpstreamCredentialCache', () => {
  it('keys by user, tool and sorted scopes; serves until refreshBeforeMs before expiry', () => {
    expect(cacheKey('alice', 'a', ['w', 'r'])).toBe(cacheKey('alice', 'a', ['r', 'w']));
    expect(cacheKey('alice', 'a', ['r'])).not.toBe(cacheKey('bob', 'a', ['r']));
    const cache = new UpstreamCredentialCache({ refreshBeforeMs: 1000 });
    cache.set('k', entry(0, 10_000));
    expect(cache.get('k', 8_999)).toBeDefined();
    expect(cache.get('k', 9_000)).toBeUndefined();
  });
  it('a revocation of an agent of its chain, its user or its tool drops it; one cut off before it was obtained does not', () => {
    const e = entry(5_000, 100_000);
    expect(entryRevokedBy(e, rule('agent', 'agent-1', 5))).toBe(true);
    expect(entryRevokedBy(e, rule('user', 'alice', 6))).toBe(true);
    expect(entryRevokedBy(e, rule('tool', 'a', 5))).toBe(true);
    expect(entryRevokedBy(e, rule('agent', 'agent-1', 4))).toBe(false);
    expect(entryRevokedBy(e, rule('user', 'bob', 6))).toBe(false);
    const cache = new UpstreamCredentialCache();
    cache.set('k', e);
    expect(cache.dropRevoked(rule('user', 'alice', 6))).toBe(1);
    expect(cache.size).toBe(0);
  });
  it('is bounded', () => {
    const cache = new UpstreamCredentialCache({ maxEntries: 2 });
    for (const k of ['a', 'b', 'c']) cache.set(k, entry(0, 1e12));
    expect(cache.size).toBe(2);
    expect(cache.get('a', 0)).toBeUndefined();
  });
});
