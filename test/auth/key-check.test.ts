/** Admin and validator keys: keyed hashes, constant cost for unknown ids, strict parsing. */
import { describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { keyTable, parseBearerKey } from '../../src/auth/key-check.js';
import { hashKeySecret, isKeyHash, isLegacyScryptKeyHash, newKeySecret, parseKeyHash } from '../../src/auth/key-hash.js';

describe('key hashes', () => {
  it('a new key is 256 random bits and its hash is a keyed hash, not scrypt', async () => {
    const { key, hash } = await createAdminKey('oncall.alice');
    const secret = key.slice('oncall.alice.'.length);
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(hash).toMatch(/^hmac-sha256\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/u);
    expect(isKeyHash(hash)).toBe(true);
    expect(hash).not.toContain(secret);
    expect(isLegacyScryptKeyHash('scrypt$16384$8$1$abc$def')).toBe(true);
    expect(parseKeyHash('scrypt$16384$8$1$abc$def')).toBeUndefined();
    expect(parseKeyHash('hmac-sha256$short$AAAA')).toBeUndefined();
  });

  it('two hashes of the same secret differ (salted)', () => {
    const secret = newKeySecret();
    expect(hashKeySecret(secret)).not.toBe(hashKeySecret(secret));
  });
});

describe('keyTable', () => {
  const secret = newKeySecret();
  const table = keyTable([{ id: 'oncall', hash: hashKeySecret(secret), role: 'viewer' as const }]);

  it('accepts the right secret and returns the entry', () => {
    const result = table.check('oncall', secret);
    expect(result.ok && result.entry).toEqual({ id: 'oncall', hash: expect.any(String) as unknown, role: 'viewer' });
  });

  it('refuses a wrong secret, a short secret and an unknown id, naming why (for the ledger only)', () => {
    expect(table.check('oncall', newKeySecret())).toEqual({ ok: false, reason: 'wrong_secret', presentedId: 'oncall' });
    expect(table.check('oncall', 'short')).toEqual({ ok: false, reason: 'wrong_secret', presentedId: 'oncall' });
    expect(table.check('nobody', secret)).toEqual({ ok: false, reason: 'unknown_id', presentedId: 'nobody' });
  });

  it('costs the same for known and unknown ids (within noise: one HMAC each, microseconds)', () => {
    const time = (id: string) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < 2000; i += 1) table.check(id, secret.slice(1) + 'x');
      return Number(process.hrtime.bigint() - start) / 2000;
    };
    time('oncall');
    time('nobody');
    // Interleaved and the fastest of seven each: a busy machine slows single runs, not the best of many.
    const knownRuns: number[] = [];
    const unknownRuns: number[] = [];
    for (let round = 0; round < 7; round += 1) {
      knownRuns.push(time('oncall'));
      unknownRuns.push(time('nobody'));
    }
    const known = Math.min(...knownRuns);
    const unknown = Math.min(...unknownRuns);
    // An unknown id is compared against a dummy hash: skipping it would make unknown ids several times faster.
    expect(unknown / known).toBeGreaterThan(0.5);
    expect(known).toBeLessThan(200_000); // well under a millisecond: no scrypt
  });
});

describe('parseBearerKey', () => {
  it('splits at the last dot; ids may contain dots', () => {
    expect(parseBearerKey('Bearer oncall.alice.c2VjcmV0')).toEqual({ id: 'oncall.alice', secret: 'c2VjcmV0' });
    for (const bad of [undefined, '', 'Basic abc', 'Bearer nodot', 'Bearer .secret', 'Bearer id.', 'Bearer a b.c', `Bearer ${'x'.repeat(65)}.secret`]) {
      expect(parseBearerKey(bad)).toBeUndefined();
    }
  });
});
