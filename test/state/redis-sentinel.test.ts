/**
 * The shared state through Redis Sentinel: a real master and one Sentinel on private ports. The client
 * asks the Sentinel for the master of `name` and connects there with the same fail-fast options.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisState } from '../../src/state/redis-state.js';
import { connectRedis, type RedisClient } from '../../src/state/connect-redis.js';
import { StateUnavailableError } from '../../src/state/shared-state.js';
import { sharedStateContract } from './shared-state-contract.js';
import { requireRedisServer, startPrivateSentinel, type PrivateSentinel } from '../support/redis-topologies.js';
import { uniquePrefix } from '../support/redis.js';

const serverUp = requireRedisServer('Redis Sentinel tests');

describe.runIf(serverUp)('through Redis Sentinel', () => {
  let sentinel: PrivateSentinel;
  const clients: RedisClient[] = [];
  beforeAll(async () => {
    sentinel = await startPrivateSentinel();
  }, 30_000);
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await sentinel.stop();
  });

  const connect = async () => {
    const client = await connectRedis({ sentinel: { sentinels: [sentinel.sentinel], name: sentinel.name } });
    clients.push(client);
    return client;
  };

  it('connects to the master the Sentinel names, and writes land on it', async () => {
    const state = new RedisState(await connect(), uniquePrefix());
    await state.setAgentOverride('agent-s', { status: 'suspended', reason: 'r', by: 'oncall', at: 1 });
    const direct = new Redis({ ...sentinel.master, maxRetriesPerRequest: 1 });
    try {
      expect(await direct.hget(`${state.prefix}{state}:agent-status`, 'agent-s')).toContain('suspended');
    } finally {
      direct.disconnect();
    }
  });

  it('fails at connect, bounded, when the Sentinel does not know the master name', async () => {
    const started = Date.now();
    await expect(connectRedis({ sentinel: { sentinels: [sentinel.sentinel], name: 'no-such-master' }, timeoutMs: 1000 }))
      .rejects.toBeInstanceOf(StateUnavailableError);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  sharedStateContract('redis sentinel', async () => new RedisState(await connect(), uniquePrefix()));
});

describe.runIf(serverUp)('through Redis Sentinel, across a failover', () => {
  let sentinel: PrivateSentinel;
  let client: RedisClient | undefined;
  beforeAll(async () => {
    sentinel = await startPrivateSentinel('failovermaster', { withReplica: true });
  }, 30_000);
  afterAll(async () => {
    client?.disconnect();
    await sentinel.stop();
  });

  it('fails closed while the master changes and then writes to the promoted replica, without a restart', async () => {
    client = await connectRedis({ sentinel: { sentinels: [sentinel.sentinel], name: sentinel.name } });
    const state = new RedisState(client, uniquePrefix());
    await state.setAgentOverride('before', { status: 'suspended', reason: 'r', by: 'oncall', at: 1 });

    const promoted = await sentinel.failover();
    expect(promoted.port).not.toBe(sentinel.master.port);

    // Every outcome during the switch is either success or StateUnavailableError, never a silent wrong
    // answer; within a bound the client's writes land on the promoted master.
    const direct = new Redis({ ...promoted, maxRetriesPerRequest: 1 });
    const outcomes: string[] = [];
    const deadline = Date.now() + 15_000;
    let landed = false;
    try {
      for (let n = 0; !landed && Date.now() < deadline; n += 1) {
        try {
          await state.setAgentOverride(`after-${n}`, { status: 'revoked', reason: 'r', by: 'oncall', at: 2 });
          landed = (await direct.hget(`${state.prefix}{state}:agent-status`, `after-${n}`)) !== null;
        } catch (err) {
          outcomes.push(err instanceof StateUnavailableError ? 'unavailable' : `unexpected: ${String(err)}`);
        }
        if (!landed) await new Promise((r) => setTimeout(r, 100));
      }
      expect(landed).toBe(true);
      expect(outcomes.filter((o) => o !== 'unavailable')).toEqual([]);
      // What was written before the failover came over by replication and reads through the client.
      expect(await direct.hget(`${state.prefix}{state}:agent-status`, 'before')).toContain('suspended');
      expect((await state.agentOverride('before'))?.status).toBe('suspended');
    } finally {
      direct.disconnect();
    }
  }, 40_000);
});
