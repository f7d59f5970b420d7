/** Both session stores: entries expire, `take` is single use, keys are hashes of the ids (real Redis). */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemorySessionStore, RedisSessionStore, type SessionStore } from '../../src/sign-in/session-store.js';
import { REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.js';

const useRedis = await requireRedis('Redis session store');
const redis = useRedis ? new Redis(REDIS_URL) : undefined;
const prefix = uniquePrefix();

afterAll(async () => {
  if (redis) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
});

function contract(name: string, make: () => SessionStore, enabled = true): void {
  describe.skipIf(!enabled)(name, () => {
    it('stores, reads, takes once and deletes', async () => {
      const store = make();
      await store.set('person', 'id-1', 'value-1', 60_000);
      expect(await store.get('person', 'id-1')).toBe('value-1');
      expect(await store.get('login', 'id-1')).toBeUndefined();
      expect(await store.take('person', 'id-1')).toBe('value-1');
      expect(await store.take('person', 'id-1')).toBeUndefined();
      await store.set('person', 'id-2', 'value-2', 60_000);
      await store.delete('person', 'id-2');
      expect(await store.get('person', 'id-2')).toBeUndefined();
      store.close();
    });
    it('expires entries', async () => {
      const store = make();
      await store.set('person', 'short', 'v', 30);
      await new Promise((r) => setTimeout(r, 80));
      expect(await store.get('person', 'short')).toBeUndefined();
      store.close();
    });
  });
}

contract('memory session store', () => new MemorySessionStore());
contract('redis session store', () => new RedisSessionStore(redis as Redis, prefix), useRedis);

describe.skipIf(!useRedis)('redis session store keys', () => {
  it('never holds the raw session id', async () => {
    const store = new RedisSessionStore(redis as Redis, prefix);
    await store.set('person', 'raw-session-id-123', 'v', 60_000);
    const keys = await (redis as Redis).keys(`${prefix}*`);
    expect(keys.length).toBe(1);
    expect(keys[0]).not.toContain('raw-session-id-123');
  });
});
