/**
 * The vault on Redis (production): Redis never holds a plaintext token; replicas refreshing at once use
 * the rotating refresh token once; key rotation reads old entries, re-encrypts on refresh and on demand.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUpstreamFailure, type UpstreamCredential, type UpstreamRequest, type UpstreamResult } from '../../../src/upstream/connector.js';
import { unseal } from '../../../src/upstream/vault/seal.js';
import { parseSecrets } from '../../../src/upstream/vault/vault-entry.js';
import type { VaultKeyRing } from '../../../src/upstream/vault/vault-keys.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../../support/redis.js';
import { SAAS_USERS } from '../../support/vault-saas.js';
import { connectThroughPages, ringOf, startVaultBed, TOOL, type VaultBed } from '../../support/vault-bed.js';

const redisUp = await requireRedis('the vault on Redis');

function request(sub: string, scopes: readonly string[], agent = 'demo-agent'): UpstreamRequest {
  return { user: { sub, upstreamSubject: sub, issuer: 'https://idp.example' }, tool: TOOL, upstreamScopes: scopes, brokerTokenJti: 'jti-1', nowMs: Date.now(), agent };
}

function credentialOf(result: UpstreamResult): UpstreamCredential {
  if (isUpstreamFailure(result)) throw new Error(`no credential: ${JSON.stringify(result)}`);
  return result;
}

/** Every key under the prefix with every value it holds, as Redis has them. */
async function rawDump(prefix: string): Promise<string> {
  const redis = new Redis(REDIS_URL);
  try {
    const parts: string[] = [];
    for (const key of await redis.keys(`${prefix}*`)) {
      const type = await redis.type(key);
      const value = type === 'hash' ? await redis.hgetall(key) : type === 'set' ? await redis.smembers(key) : await redis.get(key);
      parts.push(`${key} ${JSON.stringify(value)}`);
    }
    return parts.join('\n');
  } finally {
    redis.disconnect();
  }
}

describe.runIf(redisUp)('vault on Redis', () => {
  const prefix = uniquePrefix();
  let bed: VaultBed;
  beforeAll(async () => { bed = await startVaultBed({ redisPrefix: prefix }); });
  afterAll(async () => { await bed.close(); await cleanupPrefix(prefix); });

  const refreshTokenOf = async (user: string, ring: VaultKeyRing = bed.ring): Promise<string> => {
    const id = { user, tool: TOOL, upstream: bed.saas.issuer };
    const entry = await bed.store.get(id);
    return parseSecrets(unseal(ring, { purpose: 'connection', ...id }, entry!.sealed))!.refreshToken;
  };

  it('Redis holds no plaintext refresh or access token (raw keys and values)', async () => {
    await connectThroughPages(bed, 'alice', SAAS_USERS.alice!);
    const access = credentialOf(await bed.vault.obtain(request('alice', ['crm.read'])));
    const refresh = await refreshTokenOf('alice');
    const dump = await rawDump(prefix);
    expect(dump).toContain(`${prefix}vault:`);
    expect(dump.length).toBeGreaterThan(200);
    expect(dump).not.toContain(refresh);
    expect(dump).not.toContain(access.accessToken);
    expect(dump).not.toContain(bed.saas.clientSecret);
    // Nor any part of them long enough to matter.
    expect(dump).not.toContain(refresh.slice(0, 16));
    expect(dump).not.toContain(access.accessToken.slice(0, 16));
  });

  it('the SaaS fixture rejects a reused refresh token (so a double use cannot pass unseen)', async () => {
    await connectThroughPages(bed, 'bob', SAAS_USERS.bob!);
    const spent = await refreshTokenOf('bob');
    credentialOf(await bed.vault.obtain(request('bob', ['crm.read'])));
    // The vault rotated it; using the old one again is a reuse: refused, and the whole grant revoked.
    const refused = bed.saas.counts.refusedInvalidGrant;
    await expect(bed.tool.client.refresh(spent, ['crm.read'])).rejects.toMatchObject({ name: 'SaasRefusal', error: 'invalid_grant' });
    expect(bed.saas.counts.refusedInvalidGrant).toBe(refused + 1);
    // The grant is gone at the SaaS: the vault finds out on its next refresh and says "connect again".
    expect(await bed.vault.obtain(request('bob', ['crm.write']))).toEqual({ failure: 'not_connected', connectUrl: `${bed.broker}/connect/${TOOL}` });
    expect(await bed.store.get({ user: 'bob', tool: TOOL, upstream: bed.saas.issuer })).toBeUndefined();
  });

  it('replicas refreshing at once use the refresh token once and share the result', async () => {
    const replicas = [bed.replica(), bed.replica(), bed.replica()];
    const before = { ...bed.saas.counts };
    // A slow SaaS: every replica's request arrives while the first refresh is in flight.
    bed.saas.setDelayMs(300);
    try {
      const results = await Promise.all([bed.vault, ...replicas.map((r) => r.vault)].flatMap((v) => [
        v.obtain(request('alice', ['crm.write'])), v.obtain(request('alice', ['crm.write'])),
      ]));
      const tokens = new Set(results.map((r) => credentialOf(r).accessToken));
      expect(tokens.size).toBe(1);
      expect(bed.saas.counts.refreshed).toBe(before.refreshed + 1);
      expect(bed.saas.counts.refusedInvalidGrant).toBe(before.refusedInvalidGrant);
      // And again with the cache dropped: still one refresh, with the token the first round rotated in.
      await replicas[0]!.vault.dropCached({ tool: TOOL });
      const second = await Promise.all(replicas.map((r) => r.vault.obtain(request('alice', ['crm.read']))));
      expect(new Set(second.map((r) => credentialOf(r).accessToken)).size).toBe(1);
      expect(bed.saas.counts.refreshed).toBe(before.refreshed + 2);
      expect(bed.saas.counts.refusedInvalidGrant).toBe(before.refusedInvalidGrant);
    } finally {
      bed.saas.setDelayMs(0);
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  it('key rotation: old entries still open, a refresh re-seals under the new key, re-encryption finishes the job', async () => {
    const aliceId = { user: 'alice', tool: TOOL, upstream: bed.saas.issuer };
    const bobId = { ...aliceId, user: 'bob' };
    await connectThroughPages(bed, 'bob', SAAS_USERS.bob!);
    const old = bed.ring;
    expect((await bed.store.get(aliceId))!.meta.kid).toBe('k1');
    expect((await bed.store.get(bobId))!.meta.kid).toBe('k1');
    // `vault-key add` then `activate`: k2 seals new writes, k1 still opens.
    const next = ringOf('k2');
    bed.ring = { active: next.active, byKid: new Map([...old.byKid, ...next.byKid]) };
    // Served from the cache sealed under k1.
    credentialOf(await bed.vault.obtain(request('alice', ['crm.read'])));
    expect((await bed.store.get(aliceId))!.meta.kid).toBe('k1');
    // A refresh re-seals under k2.
    credentialOf(await bed.vault.obtain(request('alice', ['crm.write'])));
    expect((await bed.store.get(aliceId))!.meta.kid).toBe('k2');
    expect((await bed.store.get(bobId))!.meta.kid).toBe('k1');
    // Re-encryption (the admin action) re-seals what is left under k1.
    expect(await bed.vault.reencryptAll()).toEqual({ reencrypted: 1, current: 1, unreadable: 0 });
    expect((await bed.store.get(bobId))!.meta.kid).toBe('k2');
    // k1 retired: everything still opens.
    bed.ring = next;
    credentialOf(await bed.vault.obtain(request('bob', ['crm.read'])));
    credentialOf(await bed.vault.obtain(request('alice', ['crm.read'])));
    // A replica without the key an entry needs fails closed (unavailable), it does not guess.
    bed.ring = ringOf('k3');
    expect(await bed.vault.obtain(request('alice', ['crm.read']))).toEqual({ failure: 'unavailable', description: 'the stored connection cannot be read' });
    bed.ring = next;
  });
});
