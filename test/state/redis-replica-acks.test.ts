/**
 * `redis.replica_acks`: an admin action (suspend, reinstate, revoke) is confirmed only once the configured
 * number of replicas hold it (Redis WAIT), so a failover right after the answer cannot lose it. Real
 * redis-server processes: a Sentinel-managed master with one replica, and a lone master with none.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminActionError, createAdminActions } from '../../src/admin/admin-actions.js';
import type { Agent } from '../../src/domain/agent.js';
import { RedisState } from '../../src/state/redis-state.js';
import { ReplicationUnconfirmedError } from '../../src/state/shared-state.js';
import { testCatalog } from '../support/catalog.js';
import { startPrivateRedis, uniquePrefix, type PrivateRedis } from '../support/redis.js';
import { requireRedisServer, startPrivateSentinel, type PrivateSentinel } from '../support/redis-topologies.js';

const serverUp = requireRedisServer('Redis replica acknowledgement tests');
const ctx = { by: 'oncall', reason: 'r', requestId: 'q', callerAddress: '127.0.0.1' };

function actionsOn(state: RedisState, recorded: string[]) {
  return createAdminActions({
    state,
    agents: () => ({ agents: new Map([['agent-a', { clientId: 'agent-a' } as unknown as Agent]]) }),
    catalog: testCatalog,
    record: (record) => { recorded.push(record.action); return Promise.resolve(); },
    now: () => Date.now(),
    clockSkewSeconds: 0,
  });
}

describe.runIf(serverUp)('with a replica that acknowledges', () => {
  let sentinel: PrivateSentinel;
  beforeAll(async () => {
    sentinel = await startPrivateSentinel('ackmaster', { withReplica: true });
  }, 30_000);
  afterAll(async () => {
    await sentinel.stop();
  });

  it('answers once the replica holds the suspension and its revocation rule', async () => {
    const state = await RedisState.connect({ sentinel: { sentinels: [sentinel.sentinel], name: sentinel.name }, prefix: uniquePrefix(), replicaAcks: { replicas: 1, timeoutMs: 1000 } });
    const replica = new Redis({ host: sentinel.master.host, port: sentinel.master.port + 2, maxRetriesPerRequest: 1 });
    try {
      const recorded: string[] = [];
      const { revocation } = await actionsOn(state, recorded).agent('suspend', 'agent-a', ctx);
      // Read from the replica itself, at once: WAIT returned, so it already has both writes.
      expect(await replica.hget(`${state.prefix}{state}:agent-status`, 'agent-a')).toContain('"suspended"');
      expect(await replica.hget(`${state.prefix}{state}:revocations`, revocation?.id ?? '')).toContain('"agent-a"');
      expect(recorded).toEqual(['agent.suspend']);
    } finally {
      replica.disconnect();
      await state.close();
    }
  });
});

describe.runIf(serverUp)('without the replicas it requires', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('answers 503 saying the action is in effect on the master but unconfirmed, and names the counts', async () => {
    const state = await RedisState.connect({ url: redis.url, prefix: uniquePrefix(), replicaAcks: { replicas: 1, timeoutMs: 200 } });
    try {
      const recorded: string[] = [];
      const actions = actionsOn(state, recorded);
      const error = await actions.agent('suspend', 'agent-a', ctx).then(() => undefined, (err: unknown) => err);
      expect(error).toBeInstanceOf(AdminActionError);
      expect(error).toMatchObject({
        status: 503, code: 'temporarily_unavailable',
        message: 'the suspension of the agent and of its live tokens is on the Redis master, but 0 of the 1 required replicas acknowledged it within 200 ms; it is in effect, but a failover now could lose it: repeat the action once the replicas are back',
      });
      // In effect on the master: the agent is suspended and its tokens are revoked.
      expect((await state.agentOverride('agent-a'))?.status).toBe('suspended');
      expect((await state.listRevocations()).map((r) => [r.kind, r.value])).toEqual([['agent', 'agent-a']]);
      await expect(actions.revoke('user', 'alice', ctx)).rejects.toMatchObject({ status: 503, message: expect.stringMatching(/^the revocation is on the Redis master, but 0 of the 1 required/u) as unknown });
      await expect(actions.agent('reinstate', 'agent-a', ctx)).rejects.toMatchObject({ status: 503, message: expect.stringMatching(/^the reinstatement is on the Redis master/u) as unknown });
      expect(recorded).toEqual(['agent.suspend', 'revoke.user', 'agent.reinstate']);
    } finally {
      await state.close();
    }
  });

  it('waits on its own connection: the exchanges\' commands are answered while a WAIT blocks', async () => {
    const state = await RedisState.connect({ url: redis.url, prefix: uniquePrefix(), replicaAcks: { replicas: 1, timeoutMs: 1500 } });
    try {
      const order: string[] = [];
      const confirming = state.confirmReplicated('the change').then(() => { order.push('confirmed'); }, (err: unknown) => {
        expect(err).toBeInstanceOf(ReplicationUnconfirmedError);
        order.push('unconfirmed');
      });
      // Sent after the WAIT; on the same connection it would queue behind it and time out (500 ms command timeout).
      await new Promise((r) => setTimeout(r, 50));
      const claimed = await state.claimOnce('dpop:k:j', 10_000);
      order.push('claimed');
      await confirming;
      expect(claimed).toBe(true);
      expect(order).toEqual(['claimed', 'unconfirmed']);
    } finally {
      await state.close();
    }
  });
});
