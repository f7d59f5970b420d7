/**
 * The vault store in Redis: shared by every replica (production). Keys, under the broker's prefix:
 *   vault:{<h>}:e      hash {v, meta, sealed}: one connection (h = connectionKey)
 *   vault:{<h>}:l      the refresh lease: its fence, with a TTL
 *   vault:u:<uh>       set of the user's connection keys        vault:all   set of every connection key
 *   vault:a:<agent>    set of connection keys the agent's exchanges used
 *   vault:fence        counter giving each lease a number no earlier lease had
 *   vault:p:<state>    a pending consent (sealed), with a TTL
 * The entry and its lease share a hash tag, so the compare-and-set script runs on one node of a cluster.
 */
import type { RedisClient } from '../../state/connect-redis.js';
import { connectionKey, parseMeta, userKey, type ConnectionId, type ConnectionUse, type Lease, type StoredConnection, type VaultStore } from './vault-store.js';

/**
 * Compare-and-set (KEYS: entry, lease; ARGV: expected version or '' for none, fence or '' for no lease,
 * new version, meta, sealed). The lease check is the fencing: a writer whose lease ran out writes nothing.
 */
const PUT_SCRIPT = `
if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
local current = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '' then
  if current then return 0 end
elseif current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'meta', ARGV[4], 'sealed', ARGV[5])
return 1`;

/** Releases a lease only if it is still the caller's. */
const UNLOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export class RedisVaultStore implements VaultStore {
  readonly kind = 'redis' as const;

  constructor(private readonly redis: RedisClient, private readonly prefix = 'broker:') {}

  #entry(key: string): string { return `${this.prefix}vault:{${key}}:e`; }
  #lease(key: string): string { return `${this.prefix}vault:{${key}}:l`; }
  #user(user: string): string { return `${this.prefix}vault:u:${userKey(user)}`; }
  #agent(agent: string): string { return `${this.prefix}vault:a:${userKey(agent)}`; }
  get #all(): string { return `${this.prefix}vault:all`; }

  async #read(key: string): Promise<StoredConnection | undefined> {
    const fields = await this.redis.hgetall(this.#entry(key));
    const { v, meta, sealed } = fields;
    if (v === undefined || meta === undefined || sealed === undefined) return undefined;
    const parsed = parseMeta(meta);
    const version = Number(v);
    if (!parsed || !Number.isSafeInteger(version)) throw new Error('a vault entry in Redis cannot be read');
    return { version, meta: parsed, sealed };
  }

  get(id: ConnectionId): Promise<StoredConnection | undefined> {
    return this.#read(connectionKey(id));
  }

  async put(next: StoredConnection, expectedVersion: number | undefined, lease?: Lease): Promise<boolean> {
    const key = connectionKey(next.meta);
    const written = await this.redis.eval(
      PUT_SCRIPT, 2, this.#entry(key), this.#lease(key),
      expectedVersion === undefined ? '' : String(expectedVersion), lease?.fence ?? '',
      String(next.version), JSON.stringify(next.meta), next.sealed,
    );
    if (written !== 1) return false;
    // Indexes after the entry: an index member whose entry is gone is skipped when read.
    await Promise.all([this.redis.sadd(this.#user(next.meta.user), key), this.redis.sadd(this.#all, key)]);
    return true;
  }

  async delete(id: ConnectionId): Promise<StoredConnection | undefined> {
    const key = connectionKey(id);
    const was = await this.#read(key).catch(() => undefined);
    await this.redis.del(this.#entry(key));
    await Promise.all([this.redis.srem(this.#user(id.user), key), this.redis.srem(this.#all, key)]);
    return was;
  }

  async #readAll(keys: readonly string[]): Promise<StoredConnection[]> {
    const entries = await Promise.all(keys.map((k) => this.#read(k)));
    return entries.filter((e): e is StoredConnection => e !== undefined);
  }

  async listUser(user: string): Promise<StoredConnection[]> {
    const entries = await this.#readAll(await this.redis.smembers(this.#user(user)));
    return entries.filter((e) => e.meta.user === user);
  }

  async listAll(): Promise<ConnectionId[]> {
    const ids: ConnectionId[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.sscan(this.#all, cursor, 'COUNT', 200);
      cursor = next;
      for (const e of await this.#readAll(keys)) ids.push(e.meta);
    } while (cursor !== '0');
    return ids;
  }

  async noteAgent(id: ConnectionUse, agent: string): Promise<void> {
    await this.redis.sadd(this.#agent(agent), JSON.stringify([id.user, id.tool, id.upstream, id.connectedAtMs]));
  }

  async listAgent(agent: string): Promise<ConnectionUse[]> {
    const members = await this.redis.smembers(this.#agent(agent));
    return members.flatMap((m) => {
      const parts = JSON.parse(m) as unknown;
      if (!Array.isArray(parts) || parts.length !== 4 || typeof parts[3] !== 'number' || !parts.slice(0, 3).every((p) => typeof p === 'string')) return [];
      const [user, tool, upstream, connectedAtMs] = parts as [string, string, string, number];
      return [{ user, tool, upstream, connectedAtMs }];
    });
  }

  async lock(id: ConnectionId, ttlMs: number): Promise<Lease | undefined> {
    const fence = String(await this.redis.incr(`${this.prefix}vault:fence`));
    const ok = await this.redis.set(this.#lease(connectionKey(id)), fence, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
    return ok === 'OK' ? { fence } : undefined;
  }

  async unlock(id: ConnectionId, lease: Lease): Promise<void> {
    await this.redis.eval(UNLOCK_SCRIPT, 1, this.#lease(connectionKey(id)), lease.fence);
  }

  async putPending(state: string, sealed: string, ttlMs: number): Promise<void> {
    await this.redis.set(`${this.prefix}vault:p:${state}`, sealed, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async takePending(state: string): Promise<string | undefined> {
    // GETDEL: a consent is completed once, whichever replica the browser comes back to.
    const sealed = await this.redis.getdel(`${this.prefix}vault:p:${state}`);
    return sealed ?? undefined;
  }
}
