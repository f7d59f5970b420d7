/**
 * The approval store contract, in memory and on a real Redis (issue 18): decisions happen once and only
 * before the lapse, polls pace the agent (slow_down adds 5 s), and of any number of racing mints of one
 * approval (two replicas, one approval) exactly one wins.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { ApprovalRequest } from '../../../src/guardrails/approvals/approval.js';
import { MemoryApprovalStore, newApprovalId, type ApprovalStore } from '../../../src/guardrails/approvals/approval-store.js';
import { RedisApprovalStore } from '../../../src/guardrails/approvals/redis-approval-store.js';
import { StateUnavailableError } from '../../../src/state/shared-state.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../../support/redis.js';

const redisUp = await requireRedis('the Redis approval store');
const prefix = uniquePrefix();
const clients: Redis[] = [];
afterAll(async () => {
  for (const client of clients) client.disconnect();
  if (redisUp) await cleanupPrefix(prefix);
});

const T0 = 1_800_000_000_000;
function request(): ApprovalRequest {
  return {
    id: newApprovalId(), resource: 'https://pay.example/api', details: [], triggers: [{ kind: 'scope', scope: 'pay.admin' }],
    approvers: { user: true, roles: { finance: ['fin'] } }, createdAtMs: T0, expiresAtMs: T0 + 600_000, requestId: 'r',
    binding: { agent: 'a', user: { iss: 'i', sub: 's' }, tool: 'pay', scopes: ['pay.admin'], detailsDigest: 'd' },
  };
}
const made = (atMs: number) => ({ by: 'fin', via: 'admin_api', as: 'role:finance', atMs });

const stores: [string, () => ApprovalStore[]][] = [
  ['memory', () => { const one = new MemoryApprovalStore(() => T0); return [one, one]; }],
];
if (redisUp) {
  stores.push(['redis', () => {
    const [x, y] = [new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }), new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })];
    clients.push(x, y);
    return [new RedisApprovalStore(x, prefix), new RedisApprovalStore(y, prefix)];
  }]);
}

describe.each(stores)('approval store (%s)', (_name, make) => {
  it('decides once, before the lapse only', async () => {
    const [a, b] = make() as [ApprovalStore, ApprovalStore];
    const r = await a.create(request(), 5);
    expect(await b.decide(r.id, 'approved', made(T0 + 1000))).toMatchObject({ ok: true, approval: { status: 'approved', decision: { by: 'fin' } } });
    expect(await a.decide(r.id, 'rejected', made(T0 + 2000))).toMatchObject({ ok: false, why: 'already_decided' });
    const late = await a.create(request(), 5);
    expect(await b.decide(late.id, 'approved', made(late.expiresAtMs))).toMatchObject({ ok: false, why: 'expired' });
    expect(await b.decide(newApprovalId(), 'approved', made(T0))).toEqual({ ok: false, why: 'not_found' });
  });

  it('paces polls: before nextPollAt is slow_down and the interval grows by 5 s', async () => {
    const [a, b] = make() as [ApprovalStore, ApprovalStore];
    const r = await a.create(request(), 5);
    expect(await b.poll(r.id, T0 + 1000)).toMatchObject({ slowDown: true, approval: { intervalSeconds: 10, nextPollAtMs: T0 + 11_000 } });
    expect(await a.poll(r.id, T0 + 11_000)).toMatchObject({ slowDown: false, approval: { intervalSeconds: 10, nextPollAtMs: T0 + 21_000 } });
  });

  it('of racing mints of one approved request, exactly one wins', async () => {
    const [a, b] = make() as [ApprovalStore, ApprovalStore];
    const r = await a.create(request(), 5);
    expect(await a.claimMint(r.id, 'jti-0', T0 + 1000)).toEqual({ ok: false, why: 'not_approved' });
    await a.decide(r.id, 'approved', made(T0 + 1000));
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).claimMint(r.id, `jti-${String(i)}`, T0 + 2000)));
    expect(claims.filter((c) => c.ok)).toHaveLength(1);
    expect(await b.get(r.id)).toMatchObject({ status: 'minted' });
  });

  it('records a tool\'s use reports: the first use once, retries idempotent, further uses as replays, only for the minted token', async () => {
    const [a, b] = make() as [ApprovalStore, ApprovalStore];
    const r = await a.create(request(), 5);
    const use = (kind: 'used' | 'replayed', useId: string, jti = 'jti-m') => ({ kind, jti, useId, by: 'tool', atMs: T0 + 3000 });
    expect(await a.recordUse(r.id, use('used', 'u1'))).toBe('not_minted');
    await a.decide(r.id, 'approved', made(T0 + 1000));
    await a.claimMint(r.id, 'jti-m', T0 + 2000);
    expect(await b.recordUse(r.id, use('used', 'u1', 'jti-other'))).toBe('other_token');
    expect(await b.recordUse(newApprovalId(), use('used', 'u1'))).toBe('not_found');
    const racing = await Promise.all([a.recordUse(r.id, use('used', 'u1')), b.recordUse(r.id, use('used', 'u2'))]);
    expect([...racing].sort()).toEqual(['again', 'first']);
    expect(await a.recordUse(r.id, use('used', 'u1'))).toBe('retry');
    expect(await b.recordUse(r.id, use('replayed', 'u3'))).toBe('again');
    expect(await a.recordUse(r.id, use('replayed', 'u3'))).toBe('retry');
    expect(await b.get(r.id)).toMatchObject({ status: 'minted', used: { by: 'tool', atMs: T0 + 3000 } });
  });
});

describe.runIf(redisUp)('gate statistics on Redis: written once per event-loop turn', () => {
  const statsPrefix = uniquePrefix();
  afterAll(async () => { await cleanupPrefix(statsPrefix); });

  it('a turn\'s counts leave as one HINCRBY per tool and kind (no MULTI); the other replica reads them once it is done; stats() includes this replica\'s own turn', async () => {
    const [x, y] = [new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }), new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })];
    clients.push(x, y);
    const [a, b] = [new RedisApprovalStore(x, statsPrefix), new RedisApprovalStore(y, statsPrefix)];
    const increments = vi.spyOn(x, 'hincrby');
    const multis = vi.spyOn(x, 'multi');
    const counted = Array.from({ length: 10 }, (_, i) => a.countExchange(i < 6 ? 'pay' : 'crm', i < 4));
    await Promise.all(counted);
    expect(increments.mock.calls.map((call) => call.slice(1))).toEqual([['pay:exchanges', 6], ['pay:gated', 4], ['crm:exchanges', 4]]);
    expect(multis).not.toHaveBeenCalled();
    expect(await b.stats()).toEqual({ pay: { exchanges: 6, gated: 4 }, crm: { exchanges: 4, gated: 0 } });
    // Not awaited: stats() at the same replica writes the turn's counts before it reads.
    void a.countExchange('pay', true);
    expect(await a.stats()).toEqual({ pay: { exchanges: 7, gated: 5 }, crm: { exchanges: 4, gated: 0 } });
  });

  it('Redis unreachable: each caller hears state_unavailable, and the counts go with the next write once it is back', async () => {
    const x = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    const y = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    clients.push(x, y);
    const [a, b] = [new RedisApprovalStore(x, `${statsPrefix}down:`), new RedisApprovalStore(y, `${statsPrefix}down:`)];
    const failed = await Promise.allSettled([a.countExchange('pay', true), a.countExchange('pay', false)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((failed[0] as PromiseRejectedResult).reason).toBeInstanceOf(StateUnavailableError);
    expect(await b.stats()).toEqual({});
    // The failed write started the connection (lazyConnect); the offline queue is off, so nothing waited for it.
    if (x.status !== 'ready') await new Promise((resolve) => { x.once('ready', resolve); });
    await a.countExchange('pay', false);
    expect(await b.stats()).toEqual({ pay: { exchanges: 3, gated: 1 } });
  });
});
