/** Kill-switch window epochs: shared by replicas through Redis, failing as the shared state does. */
import { afterAll, describe, expect, it } from 'vitest';
import { RedisState } from '../../src/state/redis-state.js';
import { StateUnavailableError } from '../../src/state/shared-state.js';
import { MemoryState } from '../../src/state/memory-state.js';
import { memoryWindowEpochs, windowEpochsFor } from '../../src/kill-switch/window-epochs.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.js';

const redisUp = await requireRedis('kill-switch epoch Redis tests');
const prefixes: string[] = [];
afterAll(async () => {
  if (redisUp) for (const p of prefixes) await cleanupPrefix(p);
});

describe('window epochs', () => {
  it('in memory: 0 until bumped, then counts up per agent', async () => {
    const epochs = windowEpochsFor(new MemoryState());
    expect(await epochs.current('a')).toBe(0);
    expect(await epochs.bump('a')).toBe(1);
    expect(await epochs.bump('a')).toBe(2);
    expect(await epochs.current('a')).toBe(2);
    expect(await epochs.current('b')).toBe(0);
    expect(await memoryWindowEpochs().current('a')).toBe(0);
  });

  it.runIf(redisUp)('in Redis: a bump at one replica is read at the other', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const a = await RedisState.connect({ url: REDIS_URL, prefix });
    const b = await RedisState.connect({ url: REDIS_URL, prefix });
    try {
      expect(await windowEpochsFor(b).current('agent-x')).toBe(0);
      expect(await windowEpochsFor(a).bump('agent-x')).toBe(1);
      expect(await windowEpochsFor(b).current('agent-x')).toBe(1);
      expect(await windowEpochsFor(b).current('agent-y')).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it.runIf(redisUp)('in Redis: unreachable is a StateUnavailableError (a reinstatement then answers 503)', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const state = await RedisState.connect({ url: REDIS_URL, prefix });
    await state.close();
    await expect(windowEpochsFor(state).bump('agent-x')).rejects.toBeInstanceOf(StateUnavailableError);
  });
});
