/** The SharedState contract, run against the in-memory store and against a real Redis. */
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryState } from '../../src/state/memory-state.js';
import { RedisState } from '../../src/state/redis-state.js';
import { isRevokedBy, StateUnavailableError } from '../../src/state/shared-state.js';
import { rule, sharedStateContract } from './shared-state-contract.js';
import { cleanupPrefix, REDIS_URL, requireRedis, startPrivateRedis, uniquePrefix } from '../support/redis.js';

const redisUp = await requireRedis('shared-state Redis tests');
const prefixes: string[] = [];
afterAll(async () => {
  if (redisUp) for (const p of prefixes) await cleanupPrefix(p);
});

sharedStateContract('memory', () => new MemoryState());
describe.runIf(redisUp)('redis', () => {
  sharedStateContract('redis', () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    return RedisState.connect({ url: REDIS_URL, prefix });
  });

  it('two clients on one Redis see each other\'s writes at once (two replicas)', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const a = await RedisState.connect({ url: REDIS_URL, prefix });
    const b = await RedisState.connect({ url: REDIS_URL, prefix });
    await a.setAgentOverride('agent-x', { status: 'suspended', reason: 'r', by: 'oncall', at: 3 });
    expect((await b.agentOverride('agent-x'))?.status).toBe('suspended');
    await a.close();
    await b.close();
  });

  it('a one-time claim made by one replica is refused at the other', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const a = await RedisState.connect({ url: REDIS_URL, prefix });
    const b = await RedisState.connect({ url: REDIS_URL, prefix });
    const results = await Promise.all([a.claimOnce('dpop:k:j', 10_000), b.claimOnce('dpop:k:j', 10_000)]);
    expect(results.sort()).toEqual([false, true]);
    expect(await b.claimOnce('dpop:k:j', 10_000)).toBe(false);
    await a.close();
    await b.close();
  });

  it('fails fast with StateUnavailableError while Redis is down, and recovers without a new client', async () => {
    const redis = await startPrivateRedis();
    const state = await RedisState.connect({ url: redis.url, prefix: 'p:' });
    try {
      await state.ping();
      await redis.stop();
      const started = Date.now();
      await expect(state.agentOverride('agent-a')).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(state.claimOnce('jti', 1000)).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(state.hitGroup('agent:a', [{ key: 'all', windowMs: 1000 }], Date.now())).rejects.toBeInstanceOf(StateUnavailableError);
      expect(Date.now() - started).toBeLessThan(1000);
      await redis.start();
      await expect.poll(async () => state.ping().then(() => 'up', () => 'down'), { timeout: 5000, interval: 100 }).toBe('up');
      expect(await state.agentOverride('agent-a')).toBeNull();
    } finally {
      await state.close();
      await redis.stop();
    }
  });
});

describe('revocation matching', () => {
  const claims = { jti: 'j1', client_id: 'agent-a', sub: 'alice', tool: 'crm', iat: 1000 };
  it('revokes tokens issued at or before the rule, for the matching agent, user or tool', () => {
    expect(isRevokedBy(claims, rule({ kind: 'agent', value: 'agent-a', issuedBefore: 1000 }))).toBe(true);
    expect(isRevokedBy(claims, rule({ kind: 'agent', value: 'agent-a', issuedBefore: 999 }))).toBe(false);
    expect(isRevokedBy(claims, rule({ kind: 'agent', value: 'agent-b', issuedBefore: 2000 }))).toBe(false);
    expect(isRevokedBy(claims, rule({ kind: 'user', value: 'alice', issuedBefore: 2000 }))).toBe(true);
    expect(isRevokedBy(claims, rule({ kind: 'tool', value: 'crm', issuedBefore: 2000 }))).toBe(true);
    expect(isRevokedBy(claims, rule({ kind: 'tool', value: 'payroll', issuedBefore: 2000 }))).toBe(false);
  });
  it('revokes one token by jti whatever its age, and treats a missing iat as old', () => {
    expect(isRevokedBy(claims, rule({ kind: 'token', value: 'j1', issuedBefore: 0 }))).toBe(true);
    expect(isRevokedBy(claims, rule({ kind: 'token', value: 'j2', issuedBefore: 5000 }))).toBe(false);
    expect(isRevokedBy({ client_id: 'agent-a' }, rule({ kind: 'agent', value: 'agent-a', issuedBefore: 0 }))).toBe(true);
  });
});
