/**
 * The budget stores: the same contract in memory and in a real Redis, and the property that matters
 * (STANDARDS 34): under any interleaving of concurrent reservations from two replicas, the spending of
 * every counter never passes its limit, and what is stored is exactly what was granted.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { planBudget } from '../../../src/guardrails/budgets/budget-plan.js';
import type { BudgetStore } from '../../../src/guardrails/budgets/budget-store.js';
import type { AgentBudgets } from '../../../src/guardrails/budgets/budget-types.js';
import { MemoryBudgetStore } from '../../../src/guardrails/budgets/memory-budget-store.js';
import { RedisBudgetStore } from '../../../src/guardrails/budgets/redis-budget-store.js';
import { connectRedis } from '../../../src/state/connect-redis.js';
import { StateUnavailableError } from '../../../src/state/shared-state.js';
import { cleanupPrefix, REDIS_URL, requireRedis, startPrivateRedis, uniquePrefix } from '../../support/redis.js';

const redisUp = await requireRedis('budget store Redis tests');
const prefixes: string[] = [];
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  if (redisUp) for (const p of prefixes) await cleanupPrefix(p);
});

// Tomorrow 14:30 UTC: Redis expires a counter (PEXPIREAT) an hour after its window ends in real time, so the
// test's windows must lie ahead of the wall clock, whenever the suite runs.
const DAY_MS = 86_400_000;
const NOW = (Math.floor(Date.now() / DAY_MS) + 1) * DAY_MS + 14.5 * 3_600_000;
const budgets: AgentBudgets = {
  overall: { exchangesPerHour: 3 },
  tools: new Map([['payments', { amountMinorPerDay: new Map([['USD', 1000]]) }]]),
  onExceed: 'refuse',
};

function contract(name: string, make: () => BudgetStore) {
  describe(name, () => {
    it('reserves all counters or none', async () => {
      const store = make();
      const first = await store.reserve('agent-a', planBudget(budgets, 'payments', new Map([['USD', 900]]), NOW));
      expect(first.ok).toBe(true);
      // The amount counter has no room: the exchange counter is not touched either.
      const second = await store.reserve('agent-a', planBudget(budgets, 'payments', new Map([['USD', 200]]), NOW));
      expect(second.ok).toBe(false);
      if (!second.ok) expect(second.exceeded.counter.metric).toBe('amount_per_day:USD');
      const peek = await store.peek('agent-a', planBudget(budgets, 'payments', new Map([['USD', 100]]), NOW));
      expect(peek.counters.map((c) => c.used)).toEqual([1, 900]);
      expect(peek.ok).toBe(true);
      // Another agent's budgets are its own.
      expect((await store.reserve('agent-b', planBudget(budgets, 'payments', new Map([['USD', 1000]]), NOW))).ok).toBe(true);
    });

    it('a raise adds to one window\'s limit; a reset empties one window', async () => {
      const store = make();
      const [hour] = planBudget(budgets, 'crm', new Map(), NOW);
      for (let i = 0; i < 3; i++) expect((await store.reserve('agent-r', [hour!])).ok).toBe(true);
      expect((await store.reserve('agent-r', [hour!])).ok).toBe(false);
      expect(await store.raise('agent-r', hour!, 2)).toBe(2);
      expect((await store.reserve('agent-r', [hour!])).ok).toBe(true);
      const next = planBudget(budgets, 'crm', new Map(), NOW + 3_600_000)[0]!;
      const peekNext = await store.peek('agent-r', [next]);
      expect(peekNext.counters[0]?.limit).toBe(3); // the raise was for that window only
      await store.reset('agent-r', hour!);
      expect((await store.peek('agent-r', [hour!])).counters[0]?.used).toBe(0);
    });

    it('claims a notification once per key', async () => {
      const store = make();
      expect(await store.once('k', 10_000)).toBe(true);
      expect(await store.once('k', 10_000)).toBe(false);
    });
  });
}

contract('memory', () => new MemoryBudgetStore(() => NOW));

describe.runIf(redisUp)('redis', () => {
  function replica(prefix: string): RedisBudgetStore {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    clients.push(redis);
    return new RedisBudgetStore(redis, prefix);
  }
  contract('redis', () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    return replica(prefix);
  });

  it('never spends past a limit under any interleaving of concurrent requests from two replicas', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const replicas = [replica(prefix), replica(prefix)];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 2000 }),
        // Each request: which replica sends it, its amount, and a delay that shuffles the interleaving.
        fc.array(fc.record({ replica: fc.integer({ min: 0, max: 1 }), amount: fc.integer({ min: 0, max: 700 }), delay: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 24 }),
        async (perHour, perDay, requests) => {
          run += 1;
          const agent = `agent-${String(run)}`;
          const limits: AgentBudgets = { overall: { exchangesPerHour: perHour }, tools: new Map([['payments', { amountMinorPerDay: new Map([['USD', perDay]]) }]]), onExceed: 'refuse' };
          const results = await Promise.all(requests.map(async (r) => {
            await new Promise((resolve) => setTimeout(resolve, r.delay));
            const result = await replicas[r.replica]!.reserve(agent, planBudget(limits, 'payments', new Map([['USD', r.amount]]), NOW));
            return { ...r, ok: result.ok };
          }));
          const granted = results.filter((r) => r.ok);
          const spent = granted.reduce((sum, r) => sum + r.amount, 0);
          expect(granted.length).toBeLessThanOrEqual(perHour);
          expect(spent).toBeLessThanOrEqual(perDay);
          // What is stored is exactly what was granted: no lost or phantom increments.
          const after = await replicas[0]!.peek(agent, planBudget(limits, 'payments', new Map([['USD', 0]]), NOW));
          expect(after.counters.map((c) => c.used)).toEqual([granted.length, spent]);
          // Nothing was refused that had room when it ran last: the final state leaves no refused request room.
          for (const r of results.filter((x) => !x.ok)) {
            expect(granted.length + 1 > perHour || spent + r.amount > perDay).toBe(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('fails with StateUnavailableError when Redis is down (the exchange is then refused)', async () => {
    const redis = await startPrivateRedis();
    // As the broker connects: every command bounded, nothing queued while Redis is away.
    const client = await connectRedis({ url: redis.url });
    const store = new RedisBudgetStore(client, 'p:');
    let stopped = false;
    try {
      expect((await store.reserve('a', planBudget(budgets, 'crm', new Map(), NOW))).ok).toBe(true);
      await redis.stop();
      stopped = true;
      await expect(store.reserve('a', planBudget(budgets, 'crm', new Map(), NOW))).rejects.toBeInstanceOf(StateUnavailableError);
    } finally {
      client.disconnect();
      if (!stopped) await redis.stop();
    }
  });
});
