/** The SharedState contract, run against the in-memory store and against a real Redis. */
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryState } from '../../src/state/memory-state.js';
import { RedisState } from '../../src/state/redis-state.js';
import { isRevokedBy, StateUnavailableError, type Revocation, type SharedState } from '../../src/state/shared-state.js';
import { cleanupPrefix, REDIS_URL, requireRedis, startPrivateRedis, uniquePrefix } from '../support/redis.js';

const redisUp = await requireRedis('shared-state Redis tests');
const prefixes: string[] = [];
afterAll(async () => {
  if (redisUp) for (const p of prefixes) await cleanupPrefix(p);
});

function rule(overrides: Partial<Revocation> = {}): Revocation {
  return { id: `r-${Math.random().toString(36).slice(2)}`, kind: 'agent', value: 'agent-a', issuedBefore: 1000, reason: 'test', by: 'oncall', at: 1000, ...overrides };
}

function contract(name: string, make: () => SharedState | Promise<SharedState>) {
  describe(`${name} shared state`, () => {
    it('stores, reads and clears agent status overrides', async () => {
      const state = await make();
      expect(await state.agentOverride('agent-a')).toBeNull();
      await state.setAgentOverride('agent-a', { status: 'suspended', reason: 'odd behaviour', by: 'oncall', at: 1 });
      expect(await state.agentOverride('agent-a')).toEqual({ status: 'suspended', reason: 'odd behaviour', by: 'oncall', at: 1 });
      expect(await state.agentOverride('agent-b')).toBeNull();
      await state.setAgentOverride('agent-a', null);
      expect(await state.agentOverride('agent-a')).toBeNull();
      await state.close();
    });

    it('counts hits in a sliding window and distinct members per window', async () => {
      const state = await make();
      const windowMs = 10_000;
      const t0 = 1_700_000_000_000 - (1_700_000_000_000 % windowMs); // start of a window
      expect(await state.hit('k', windowMs, t0)).toBe(1);
      expect(await state.hit('k', windowMs, t0 + 1)).toBe(2);
      expect(await state.hit('other', windowMs, t0 + 1)).toBe(1);
      // Half-way through the next window: 1 now + 2 from the previous window weighted by 0.5.
      expect(await state.hit('k', windowMs, t0 + windowMs + windowMs / 2)).toBe(2);
      expect(await state.addDistinct('u', 'alice', windowMs, t0)).toBe(1);
      expect(await state.addDistinct('u', 'alice', windowMs, t0 + 1)).toBe(1);
      expect(await state.addDistinct('u', 'bob', windowMs, t0 + 2)).toBe(2);
      await state.close();
    });

    it('claims a one-time key once until it expires', async () => {
      const state = await make();
      const key = `jti-${Math.random().toString(36).slice(2)}`;
      expect(await state.claimOnce(key, 300)).toBe(true);
      expect(await state.claimOnce(key, 300)).toBe(false);
      expect(await state.claimOnce(`${key}-other`, 300)).toBe(true);
      await new Promise((r) => setTimeout(r, 350));
      expect(await state.claimOnce(key, 300)).toBe(true);
      expect(await state.claimOnce(key, 300)).toBe(false);
      await state.close();
    });

    it('keeps revocations and publishes every change as a resumable feed', async () => {
      const state = await make();
      const first = rule();
      const second = rule({ kind: 'user', value: 'alice' });
      await state.addRevocation(first);
      await state.setAgentOverride('agent-a', { status: 'revoked', reason: 'r', by: 'oncall', at: 2 });
      await state.addRevocation(second);
      expect((await state.listRevocations()).map((r) => r.id).sort()).toEqual([first.id, second.id].sort());
      const all = await state.eventsSince(undefined);
      expect(all.map((e) => e.type)).toEqual(['revocation', 'agent_status', 'revocation']);
      expect(all[0]?.revocation).toEqual(first);
      expect(all[1]?.agent).toEqual({ clientId: 'agent-a', override: { status: 'revoked', reason: 'r', by: 'oncall', at: 2 } });
      const rest = await state.eventsSince(all[0]!.cursor);
      expect(rest.map((e) => e.cursor)).toEqual([all[1]!.cursor, all[2]!.cursor]);
      expect(await state.eventsSince(all[2]!.cursor)).toEqual([]);
      await state.close();
    });
  });
}

contract('memory', () => new MemoryState());
describe.runIf(redisUp)('redis', () => {
  contract('redis', () => {
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
