import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { RedisState } from '../../src/state/redis-state.js';
import { StateUnavailableError } from '../../src/state/shared-state.js';
import { claimStateOwner, judgeMarker, ownerKey, parseOwnerMarker, StateEpoch, StateOwnedByAnotherIssuerError } from '../../src/state/state-owner.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.js';

const mine = { issuer: 'https://broker.example.com', epoch: 'e1', claimed_at: '2026-12-03T12:00:00.000Z' };

describe('the state epoch', () => {
  it('is kept while the marker is this broker\'s', () => {
    expect(judgeMarker(JSON.stringify(mine), mine)).toBe('ok');
  });
  it('is lost when the marker vanished (Redis restarted empty, flushed)', () => {
    expect(judgeMarker(null, mine)).toBe('lost');
  });
  it('is lost when the prefix was claimed again (another epoch) or by another issuer, or holds garbage', () => {
    expect(judgeMarker(JSON.stringify({ ...mine, epoch: 'e2' }), mine)).toBe('lost');
    expect(judgeMarker(JSON.stringify({ ...mine, issuer: 'https://other.example.com' }), mine)).toBe('lost');
    expect(judgeMarker('not json', mine)).toBe('lost');
    expect(parseOwnerMarker('{"issuer": 1}')).toBeUndefined();
  });
});

describe.runIf(await requireRedis('the state owner marker'))('the owner marker in Redis', () => {
  const prefix = uniquePrefix();
  let redis: Redis;
  beforeAll(() => { redis = new Redis(REDIS_URL); });
  afterAll(async () => {
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  it('is claimed once, adopted by the same issuer, refused to another issuer and to garbage', async () => {
    const first = await claimStateOwner(redis, prefix, 'https://a.example.com');
    expect(first.claimed).toBe(true);
    const second = await claimStateOwner(redis, prefix, 'https://a.example.com');
    expect(second).toMatchObject({ claimed: false, epoch: first.epoch, issuer: 'https://a.example.com' });
    await expect(claimStateOwner(redis, prefix, 'https://b.example.com')).rejects.toBeInstanceOf(StateOwnedByAnotherIssuerError);
    const other = `${prefix}garbage:`;
    await redis.set(ownerKey(other), 'not a marker');
    await expect(claimStateOwner(redis, other, 'https://a.example.com')).rejects.toThrow(/is not a broker owner marker; refusing to start on it/u);
    await redis.del(ownerKey(other));
  });

  it('loses the epoch once when the marker vanishes: one log line, guarded reads refused, other calls pass', async () => {
    const p = `${prefix}epoch:`;
    const marker = await claimStateOwner(redis, p, 'https://a.example.com');
    const lines: string[] = [];
    const log = createLogger('info', { write: (line: string) => { lines.push(line); } });
    const epoch = new StateEpoch(redis, p, marker, log, 60_000);
    try {
      const state = epoch.guard(new RedisState(redis, p));
      expect(await epoch.check()).toBe('ok');
      expect((await state.agentStatusSnapshot()).overrides.size).toBe(0);
      await redis.del(ownerKey(p));
      await expect(state.agentStatusSnapshot()).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(state.agentOverride('x')).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(state.eventsSince(undefined)).rejects.toBeInstanceOf(StateUnavailableError);
      expect(await epoch.check()).toBe('lost');
      // Rate limits and one-time claims are not decisions about suspension: they keep working.
      expect(await state.claimOnce('k', 1000)).toBe(true);
      // Another broker re-claiming the emptied prefix does not bring the lost epoch back.
      await claimStateOwner(redis, p, 'https://a.example.com');
      expect(await epoch.check()).toBe('lost');
      expect(lines.filter((l) => l.includes('state_epoch_lost'))).toHaveLength(1);
      expect(state).toBeInstanceOf(RedisState);
    } finally {
      epoch.close();
    }
  });
});
