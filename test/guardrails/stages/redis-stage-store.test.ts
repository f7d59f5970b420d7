/**
 * The Redis stage store read through its per-replica mirror (src/guardrails/stages/stage-store.ts): no Redis
 * read per exchange, a change visible at once on the replica that made it and within the propagation window on
 * the others, and fail closed (StateUnavailableError) once the mirror is older than the window. Real Redis.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStageStore, type StageOverride } from '../../../src/guardrails/stages/stage-store.js';
import { StateUnavailableError } from '../../../src/state/shared-state.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../../support/redis.js';

const WINDOW_MS = 300;
const run = await requireRedis('the Redis stage store');
const prefix = uniquePrefix();
const clients: Redis[] = [];
const stores: RedisStageStore[] = [];

async function client(): Promise<Redis> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  redis.on('error', () => undefined);
  clients.push(redis);
  await redis.connect();
  return redis;
}

/** A store whose Redis reads are counted by command. */
function countedStore(redis: Redis): { store: RedisStageStore; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  for (const command of ['hget', 'hgetall'] as const) {
    const original = redis[command].bind(redis) as (...args: unknown[]) => Promise<unknown>;
    (redis as unknown as Record<string, unknown>)[command] = (...args: unknown[]) => {
      reads.set(command, (reads.get(command) ?? 0) + 1);
      return original(...args);
    };
  }
  const store = new RedisStageStore(redis, prefix, WINDOW_MS);
  stores.push(store);
  return { store, reads };
}

const override = (stage: StageOverride['stage']): StageOverride => ({ stage, by: 'ops@example.com', reason: 'test', at: 1 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterAll(async () => {
  for (const s of stores) s.close();
  await cleanupPrefix(prefix);
  for (const c of clients) c.disconnect();
});

describe.runIf(run)('the Redis stage store, mirrored per replica', () => {
  it('answers exchanges from memory: no Redis read per exchange, a few whole-hash reads per window', async () => {
    const { store, reads } = countedStore(await client());
    await store.set('agent-a', override('read_only'));
    const started = performance.now();
    for (let i = 0; i < 200; i += 1) expect((await store.get('agent-a'))?.stage).toBe('read_only');
    await sleep(WINDOW_MS);
    expect((await store.get('agent-a'))?.stage).toBe('read_only');
    const elapsed = performance.now() - started;
    expect(reads.get('hget') ?? 0).toBe(0);
    // Reads of the whole hash: one per poll period (window / 10) at most, plus the first.
    expect(reads.get('hgetall') ?? 0).toBeGreaterThanOrEqual(1);
    expect(reads.get('hgetall') ?? 0).toBeLessThanOrEqual(Math.ceil(elapsed / (WINDOW_MS / 10)) + 2);
  });

  it('sees its own change at once and another replica\'s within the window', async () => {
    const a = countedStore(await client()).store;
    const b = countedStore(await client()).store;
    await a.set('agent-b', override('autonomous'));
    expect((await b.get('agent-b'))?.stage).toBe('autonomous');
    await b.set('agent-b', override('shadow'));
    // The replica that wrote it: at once, although its mirror was fresh.
    expect((await b.get('agent-b'))?.stage).toBe('shadow');
    const changedAt = performance.now();
    let seen: string | undefined;
    while (performance.now() - changedAt < 2 * WINDOW_MS && seen !== 'shadow') {
      seen = (await a.get('agent-b'))?.stage;
      if (seen !== 'shadow') await sleep(5);
    }
    expect(seen).toBe('shadow');
    expect(performance.now() - changedAt).toBeLessThanOrEqual(WINDOW_MS + 50);
    await a.set('agent-b', null);
    expect(await a.get('agent-b')).toBeNull();
  });

  it('refuses (StateUnavailableError) once its mirror is older than the window and Redis cannot be read', async () => {
    const redis = await client();
    const { store } = countedStore(redis);
    await store.set('agent-c', override('read_only'));
    expect((await store.get('agent-c'))?.stage).toBe('read_only');
    redis.disconnect();
    // Within the window the last good read still answers; past it, nothing stale is trusted.
    await sleep(WINDOW_MS + 50);
    await expect(store.get('agent-c')).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(store.get('agent-without-override')).rejects.toBeInstanceOf(StateUnavailableError);
  });

  it('refuses an agent whose stored override cannot be read, and only that agent', async () => {
    const redis = await client();
    await redis.hset(`${prefix}{guardrails}:stages`, 'agent-garbled', '{"stage":"sometimes"}');
    const { store } = countedStore(redis);
    await expect(store.get('agent-garbled')).rejects.toThrow('stored stage override is not readable');
    expect(await store.get('agent-unstaged')).toBeNull();
  });
});
