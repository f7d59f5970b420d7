/**
 * oidc-provider storage in Redis, so that every replica shares the replay cache of `private_key_jwt`
 * client assertions: an assertion accepted by one replica is refused by all the others. Entries expire when
 * oidc-provider says. Failures propagate, and oidc-provider then refuses the request (fail closed).
 * Cluster-safe: every command touches one key (`<prefix>oidc:<model>:<id>`), so entries spread over slots.
 */
import type { RedisClient } from '../state/connect-redis.js';
import type { AdapterPayload } from './oidc-provider.js';

export function redisAdapter(redis: RedisClient, prefix: string): new (name: string) => RedisAdapter {
  return class extends RedisAdapter {
    constructor(name: string) {
      super(redis, `${prefix}oidc:${name}:`);
    }
  };
}

export class RedisAdapter {
  constructor(private readonly redis: RedisClient, private readonly keyPrefix: string) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const key = this.keyPrefix + id;
    if (typeof expiresIn === 'number') await this.redis.set(key, JSON.stringify(payload), 'EX', Math.max(1, Math.ceil(expiresIn)));
    else await this.redis.set(key, JSON.stringify(payload));
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const raw = await this.redis.get(this.keyPrefix + id);
    return raw === null ? undefined : (JSON.parse(raw) as AdapterPayload);
  }

  findByUserCode(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  findByUid(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  async consume(id: string): Promise<void> {
    const payload = await this.find(id);
    if (!payload) return;
    const ttl = await this.redis.ttl(this.keyPrefix + id);
    await this.upsert(id, { ...payload, consumed: Math.floor(Date.now() / 1000) }, ttl > 0 ? ttl : undefined);
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.keyPrefix + id);
  }

  revokeByGrantId(): Promise<void> {
    return Promise.resolve();
  }
}
