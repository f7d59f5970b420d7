/**
 * The Redis prefix belongs to one issuer, and a Redis that lost its data while the broker ran is detected:
 * - a broker refuses to start on a prefix owned by another issuer (before: two brokers with different
 *   issuers shared suspensions); a further replica of the same issuer starts;
 * - a Redis restarted without persistence (the suspension gone with it) turns /readyz 503 `state_epoch_lost`
 *   and the suspended agent is refused (503, nothing minted) instead of silently reinstated.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { DENIAL_REASONS } from '../../src/exchange/reasons.js';
import { ownerKey } from '../../src/state/state-owner.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { AGENT, exchange, freePort, productionDir, startProduction } from '../support/production-broker.js';
import { cleanupPrefix, REDIS_URL, requireRedis, startPrivateRedis, uniquePrefix, type PrivateRedis } from '../support/redis.js';
import { requireRedisServer } from '../support/redis-topologies.js';

const redisUp = await requireRedis('state ownership');
const serverInstalled = requireRedisServer('a Redis restarted without persistence');

async function lastRecord(dir: string): Promise<Record<string, unknown>> {
  const lines = (await readFile(join(dir, 'data', 'attribution.jsonl'), 'utf8')).trim().split('\n');
  return JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
}

async function brokerOn(redisUrl: string, prefix: string, idp: UpstreamIdp | undefined, port: number, adminHash?: string) {
  const d = await productionDir({
    idpIssuer: idp?.issuer ?? 'https://login.example.com', port,
    extraYaml: [
      `redis: { url: "${redisUrl}", prefix: "${prefix}" }`,
      ...(adminHash ? ['admin_keys:', `  - { id: oncall, hash: "${adminHash}" }`] : []),
    ],
  });
  return { d, start: () => startProduction(d, { epochCheckMs: 100 }) };
}

describe.runIf(redisUp)('a Redis prefix owned by one issuer', () => {
  const prefix = uniquePrefix();
  afterAll(async () => { await cleanupPrefix(prefix); });

  it('refuses to start a broker of another issuer on it; starts another replica of the owner', async () => {
    const owner = await brokerOn(REDIS_URL, prefix, undefined, await freePort());
    const first = await owner.start();
    try {
      const probe = new Redis(REDIS_URL);
      const marker = JSON.parse((await probe.get(ownerKey(prefix))) ?? '{}') as Record<string, unknown>;
      probe.disconnect();
      expect(marker).toMatchObject({ issuer: first.issuer, epoch: expect.stringMatching(/^[\w-]{22}$/u) as unknown });

      const other = await brokerOn(REDIS_URL, prefix, undefined, await freePort());
      await expect(other.start()).rejects.toThrow(
        `redis prefix "${prefix}" belongs to the broker with issuer ${first.issuer} (claimed ${String(marker.claimed_at)}), not ${other.d.issuer}`,
      );
      // A second replica of the same issuer (same issuer identifier, its own port) adopts the claim.
      const replica = await startProduction(owner.d, { epochCheckMs: 100 }, { BROKER_PORT: String(await freePort()) });
      expect(replica.issuer).toBe(first.issuer);
      expect(replica.port).not.toBe(first.port);
      await replica.stop();
    } finally {
      await first.stop();
    }
  }, 30_000);
});

describe.runIf(redisUp && serverInstalled)('a Redis that lost its data while the broker ran', () => {
  let redis: PrivateRedis;
  let idp: UpstreamIdp;
  let admin: { key: string; hash: string };
  const prefix = uniquePrefix();

  beforeAll(async () => {
    redis = await startPrivateRedis();
    admin = await createAdminKey('oncall');
  }, 30_000);
  afterAll(async () => {
    await redis.stop();
    await idp.close();
  });

  it('turns /readyz 503 state_epoch_lost and keeps refusing the suspended agent (no silent reinstatement)', async () => {
    const port = await freePort();
    idp = await startUpstreamIdp({ audience: `http://127.0.0.1:${String(port)}` });
    const { d, start } = await brokerOn(redis.url, prefix, idp, port, admin.hash);
    const broker = await start();
    try {
      expect((await fetch(`${broker.url}/readyz`)).status).toBe(200);
      const suspend = await fetch(`${broker.url}/admin/agents/${AGENT}/suspend`, {
        method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'test' }),
      });
      expect(suspend.status).toBe(200);
      const refused = await exchange(broker.url, await idp.userToken('alice'));
      expect(refused.body.error).toBe(DENIAL_REASONS.agent_suspended);

      // Redis restarts without persistence: the suspension is gone with the rest of its data.
      await redis.stop();
      await redis.start();
      let ready: Response | undefined;
      for (let i = 0; i < 100; i++) {
        ready = await fetch(`${broker.url}/readyz`);
        if (ready.status === 503 && ((await ready.clone().json()) as { checks?: unknown }).checks !== undefined) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready?.status).toBe(503);
      expect(await ready?.json()).toMatchObject({ status: 'unavailable', checks: { state_epoch: { ok: false, reason: 'state_epoch_lost' } } });

      // Long after the reconnect (mirror snapshots included), the agent is still not served.
      await new Promise((r) => setTimeout(r, 1500));
      const after = await exchange(broker.url, await idp.userToken('alice'));
      expect(after.status).toBe(503);
      expect(after.body.error).toBe('temporarily_unavailable');
      expect(after.body.access_token).toBeUndefined();
      expect(after.text).not.toMatch(/eyJ/u);
      const record = await lastRecord(d.dir);
      expect(record).toMatchObject({ decision: 'denied', reason: 'state_unavailable' });
    } finally {
      await broker.stop();
    }
  }, 60_000);
});
