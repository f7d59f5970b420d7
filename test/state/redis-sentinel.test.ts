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
