/**
 * The shared state and the client-assertion replay cache on a real 3-master Redis Cluster. A MULTI whose
 * keys span slots fails with CROSSSLOT on a cluster, so the contract passing here shows every transaction
 * stays within one hash tag; the slot checks show the per-limit tags really spread over the masters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { RedisState } from '../../src/state/redis-state.js';
import { connectRedis, type RedisClient } from '../../src/state/connect-redis.js';
import { rateGroupKey, rateWindowKey, stateKey } from '../../src/state/state-keys.js';
import { RedisAdapter } from '../../src/provider/redis-adapter.js';
import { AgentStatusMirror } from '../../src/state/agent-status-mirror.js';
import { sharedStateContract } from './shared-state-contract.js';
import { requireRedisServer, startPrivateCluster, type PrivateCluster } from '../support/redis-topologies.js';
import { uniquePrefix } from '../support/redis.js';
import { RedisStreamSink, streamLines } from '../../src/attribution/redis-stream-sink.js';
import { verifyLog } from '../../src/attribution/verify.js';
import { makeRecord, testSigner } from '../attribution/helpers.js';

const serverUp = requireRedisServer('Redis Cluster tests');

describe.runIf(serverUp)('on a 3-master Redis Cluster', () => {
  let cluster: PrivateCluster;
  const clients: RedisClient[] = [];
  beforeAll(async () => {
    cluster = await startPrivateCluster();
  }, 30_000);
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await cluster.stop();
  });

  const connect = async () => {
    const client = await connectRedis({ cluster: { nodes: cluster.nodes } });
    clients.push(client);
    return client;
  };

  sharedStateContract('redis cluster', async () => new RedisState(await connect(), uniquePrefix()));

  it('connects as a Cluster client and keeps the state keys in one slot, the rate-limit keys per limit', async () => {
    const client = await connect();
    expect(client).toBeInstanceOf(Cluster);
    const slot = async (key: string) => Number(await client.call('CLUSTER', 'KEYSLOT', key));
    const prefix = 'broker:';
    const stateSlots = new Set(await Promise.all((['agent-status', 'revocations', 'events'] as const).map((n) => slot(stateKey(prefix, n)))));
    expect(stateSlots.size).toBe(1);
    expect(await slot(rateWindowKey(prefix, 'agent:a', 7))).toBe(await slot(rateWindowKey(prefix, 'agent:a', 6)));
    const agentSlots = new Set(await Promise.all(Array.from({ length: 20 }, (_, i) => slot(rateWindowKey(prefix, `agent:agent-${String(i)}`, 1)))));
    expect(agentSlots.size).toBeGreaterThan(1);
    // An agent's exchange limits are one group (one script call): every window of it, current and previous, in one slot.
    const groupSlots = new Set(await Promise.all([rateGroupKey(prefix, 'agent:a', 'all', 7), rateGroupKey(prefix, 'agent:a', 'all', 6), rateGroupKey(prefix, 'agent:a', 'tool:crm', 7), rateGroupKey(prefix, 'agent:a', 'tool:billing', 6)].map(slot)));
    expect(groupSlots.size).toBe(1);
  });

  it('a cross-slot MULTI is refused by this cluster (the contract above would catch a wrong key layout)', async () => {
    const client = await connect();
    const results = await client.multi().incr('broker:{rl:a}:1').get('broker:{rl:b}:0').exec().catch((err: unknown) => err);
    expect(String(results)).toMatch(/CROSSSLOT|slot/iu);
  });

  it('keeps the client-assertion replay cache: a consumed assertion stays consumed, entries expire', async () => {
    const client = await connect();
    const adapter = new RedisAdapter(client, `${uniquePrefix()}oidc:ReplayDetection:`);
    await adapter.upsert('jti-1', { iat: 1 }, 60);
    await adapter.upsert('jti-2', { iat: 2 }, 60);
    expect(await adapter.find('jti-1')).toEqual({ iat: 1 });
    await adapter.consume('jti-1');
    expect((await adapter.find('jti-1'))?.consumed).toBeTypeOf('number');
    expect(await adapter.find('jti-2')).toEqual({ iat: 2 });
    await adapter.destroy('jti-2');
    expect(await adapter.find('jti-2')).toBeUndefined();
    await adapter.upsert('short', { iat: 3 }, 1);
    await expect.poll(() => adapter.find('short'), { timeout: 3000, interval: 200 }).toBeUndefined();
  });

  it('feeds an agent-status mirror from the cluster', async () => {
    const state = new RedisState(await connect(), uniquePrefix());
    const mirror = new AgentStatusMirror(state, { windowMs: 1000 });
    try {
      expect(await mirror.latest('agent-a')).toBeNull();
      await state.setAgentOverride('agent-a', { status: 'suspended', reason: 'r', by: 'oncall', at: 1 });
      expect((await mirror.latest('agent-a'))?.status).toBe('suspended');
    } finally {
      mirror.close();
    }
  });

  it('keeps two replicas\' attribution chains on the cluster, each verifying, each in its own slot', async () => {
    const client = await connect();
    const signer = await testSigner();
    const prefix = uniquePrefix();
    const sinks = ['replica-a', 'replica-b'].map((replica) => new RedisStreamSink({ redis: client, keyPrefix: prefix, replica, signer, checkpointEveryRecords: 5, checkpointEverySeconds: 0 }));
    await Promise.all(sinks.flatMap((sink, s) => Array.from({ length: 12 }, (_, i) => sink.append(makeRecord(s * 100 + i + 1)))));
    for (const sink of sinks) await sink.close();
    for (const sink of sinks) {
      await expect(verifyLog(streamLines(client, sink.key), { keys: [signer.publicJwk], requireCheckpointedEnd: true })).resolves.toMatchObject({ ok: true, records: 12 });
    }
    const [a, b] = sinks.map((sink) => sink.key) as [string, string];
    expect(a).toMatch(/\{attribution:replica-a\}/u);
    expect(await client.cluster('KEYSLOT', a)).not.toBe(await client.cluster('KEYSLOT', b));
  });
});
