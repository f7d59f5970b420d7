/** The per-source limit: shared count behind a local pre-filter; what happens when Redis is down. */
import { afterAll, describe, expect, it } from 'vitest';
import { createSourceLimiter } from '../../src/token-endpoint/source-limit.js';
import { MemoryState } from '../../src/state/memory-state.js';
import { RedisState } from '../../src/state/redis-state.js';
import type { SharedState } from '../../src/state/shared-state.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.js';

const redisUp = await requireRedis('per-source limit Redis tests');
const prefixes: string[] = [];
afterAll(async () => {
  if (redisUp) for (const p of prefixes) await cleanupPrefix(p);
});

const T0 = 1_800_000_000_000; // a window boundary for 60 s windows
const LIMIT = { limit: 10, windowMs: 60_000 };

/** Counts the shared-state hits a limiter makes (the real state underneath answers them). */
function counting(state: SharedState): { state: SharedState; hits: () => number } {
  let hits = 0;
  const wrapped = Object.create(state) as SharedState;
  wrapped.hit = (key, windowMs, nowMs) => { hits += 1; return state.hit(key, windowMs, nowMs); };
  return { state: wrapped, hits: () => hits };
}

describe('per-source limit', () => {
  it('allows `limit` requests per window from one address, refuses the rest with a Retry-After, and counts addresses apart', async () => {
    const check = createSourceLimiter({ limit: LIMIT, state: new MemoryState() });
    const answers = [];
    for (let i = 0; i < 15; i += 1) answers.push(await check('10.0.0.1', T0 + i));
    expect(answers.slice(0, 10)).toEqual(Array(10).fill(undefined));
    expect(answers.slice(10)).toEqual(Array(5).fill(1));
    expect(await check('10.0.0.2', T0 + 20)).toBeUndefined();
  });

  it('a flood does not become a shared-state flood: refused addresses are answered from memory', async () => {
    const { state, hits } = counting(new MemoryState());
    const check = createSourceLimiter({ limit: LIMIT, state });
    for (let i = 0; i < 1000; i += 1) await check('10.0.0.1', T0 + i); // 1000 requests within one second
    expect(hits()).toBe(10);
    expect(await check('10.0.0.1', T0 + 1500)).toBe(1); // this replica's own count is over: still no shared-state hit
    expect(hits()).toBe(10);
    expect(await check('10.0.0.1', T0 + 60_000)).toBe(1); // the next window: the sliding shared count still holds the last one
    expect(hits()).toBe(11);
  });

  it('refused by the shared count (other replicas), an address is refused from memory for a second, then asked again', async () => {
    const { state, hits } = counting(new MemoryState());
    const elsewhere = createSourceLimiter({ limit: LIMIT, state });
    for (let i = 0; i < 10; i += 1) await elsewhere('10.0.0.1', T0 + i);
    const here = createSourceLimiter({ limit: LIMIT, state });
    expect(await here('10.0.0.1', T0 + 100)).toBe(1);
    expect(hits()).toBe(11);
    for (let i = 0; i < 5; i += 1) expect(await here('10.0.0.1', T0 + 200 + i)).toBe(1);
    expect(hits()).toBe(11);
    expect(await here('10.0.0.1', T0 + 1200)).toBe(1);
    expect(hits()).toBe(12);
  });

  it('refusedNow answers from local memory only: undefined and uncounted until refused, then the seconds left, counted', async () => {
    const { state, hits } = counting(new MemoryState());
    const check = createSourceLimiter({ limit: LIMIT, state });
    for (let i = 0; i < 20; i += 1) expect(check.refusedNow('10.0.0.1', T0 + i)).toBeUndefined();
    for (let i = 0; i < 10; i += 1) expect(await check('10.0.0.1', T0 + 100 + i)).toBeUndefined(); // not counted above
    expect(await check('10.0.0.1', T0 + 200)).toBe(1); // refused until T0 + 1200
    expect(check.refusedNow('10.0.0.1', T0 + 300)).toBe(1);
    expect(check.refusedNow('10.0.0.2', T0 + 300)).toBeUndefined();
    expect(hits()).toBe(10);
    expect(check.refusedNow('10.0.0.1', T0 + 1200)).toBeUndefined(); // lapsed: the async check asks again

    // Refused by the shared count (another replica), this one's own count is low; refusedNow counts locally,
    // so a source that kept sending while refused is refused after the lapse without asking the shared state.
    const here = createSourceLimiter({ limit: LIMIT, state });
    expect(await here('10.0.0.1', T0 + 400)).toBe(1);
    expect(hits()).toBe(11);
    for (let i = 0; i < 10; i += 1) expect(here.refusedNow('10.0.0.1', T0 + 500 + i)).toBe(1);
    expect(await here('10.0.0.1', T0 + 1500)).toBe(1);
    expect(hits()).toBe(11);
  });

  it.runIf(redisUp)('the count is shared by replicas through Redis', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const a = await RedisState.connect({ url: REDIS_URL, prefix });
    const b = await RedisState.connect({ url: REDIS_URL, prefix });
    try {
      const atA = createSourceLimiter({ limit: LIMIT, state: a });
      const atB = createSourceLimiter({ limit: LIMIT, state: b });
      for (let i = 0; i < 6; i += 1) expect(await atA('10.0.0.9', T0 + i)).toBeUndefined();
      for (let i = 0; i < 4; i += 1) expect(await atB('10.0.0.9', T0 + 10 + i)).toBeUndefined();
      expect(await atB('10.0.0.9', T0 + 20)).toBe(1); // the 11th across both replicas
      expect(await atA('10.0.0.9', T0 + 21)).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it.runIf(redisUp)('Redis unreachable: requests proceed to client authentication, limited by this replica\'s own count', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const down = await RedisState.connect({ url: REDIS_URL, prefix });
    await down.close();
    const failures: unknown[] = [];
    const check = createSourceLimiter({ limit: LIMIT, state: down, onStateUnavailable: (err) => failures.push(err) });
    for (let i = 0; i < 10; i += 1) expect(await check('10.0.0.1', T0 + i)).toBeUndefined();
    expect(failures).toHaveLength(10);
    expect(await check('10.0.0.1', T0 + 11)).toBe(1); // the local pre-filter still holds the limit
  });

  it('remembers a bounded number of addresses', async () => {
    const check = createSourceLimiter({ limit: { limit: 1, windowMs: 60_000 }, state: new MemoryState(), maxSources: 100 });
    for (let i = 0; i < 1000; i += 1) await check(`10.0.${String(i >> 8)}.${String(i & 255)}`, T0);
    // Locally forgotten addresses are still limited by the shared count.
    expect(await check('10.0.0.0', T0 + 1)).toBe(1);
  });
});
