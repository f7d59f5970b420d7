/**
 * SharedState in Redis, shared by every replica. Commands never queue while Redis is unreachable: they
 * fail at once (StateUnavailableError), so the broker refuses to mint instead of waiting, and it recovers
 * without a restart when Redis comes back (ioredis reconnects in the background).
 *   <prefix>agent-status   HASH   client_id -> AgentStatusOverride (JSON)
 *   <prefix>revocations    HASH   id -> Revocation (JSON)
 *   <prefix>events         STREAM the feed replicas and validators follow (capped)
 *   <prefix>once:<key>     STRING one-time claims (DPoP proof jtis), SET NX PX: expire on their own
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { AgentStatusOverride, Revocation, SharedState, StateEvent } from './shared-state.js';
import { slidingCount, StateUnavailableError } from './shared-state.js';

export interface RedisStateOptions {
  readonly url: string;
  readonly prefix?: string;
  /** Bound on any single command. */
  readonly commandTimeoutMs?: number;
  /** Passed through to ioredis (Sentinel, TLS, ...). */
  readonly redisOptions?: RedisOptions;
}

const MAX_EVENTS = 10_000;

export class RedisState implements SharedState {
  readonly kind = 'redis' as const;
  readonly redis: Redis;
  readonly prefix: string;

  constructor(opts: RedisStateOptions) {
    this.prefix = opts.prefix ?? 'broker:';
    this.redis = new Redis(opts.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.commandTimeoutMs ?? 500,
      lazyConnect: false,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
      ...opts.redisOptions,
    });
    // Connection errors surface as failed commands; the client keeps reconnecting.
    this.redis.on('error', () => undefined);
  }

  async #run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      throw new StateUnavailableError(`redis ${what} failed`, { cause });
    }
  }

  /** Connects and waits until Redis answers (bounded); the broker calls this before serving. */
  static async connect(opts: RedisStateOptions & { readonly timeoutMs?: number }): Promise<RedisState> {
    const state = new RedisState(opts);
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    while (state.redis.status !== 'ready') {
      if (Date.now() > deadline) {
        state.redis.disconnect();
        throw new StateUnavailableError(`redis at ${new URL(opts.url).host} is not reachable`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return state;
  }

  #key(name: string): string {
    return `${this.prefix}${name}`;
  }

  async agentOverride(clientId: string): Promise<AgentStatusOverride | null> {
    const raw = await this.#run('HGET', () => this.redis.hget(this.#key('agent-status'), clientId));
    return raw === null ? null : (JSON.parse(raw) as AgentStatusOverride);
  }

  async setAgentOverride(clientId: string, override: AgentStatusOverride | null): Promise<void> {
    const event = JSON.stringify({ type: 'agent_status', agent: { clientId, override } });
    await this.#run('MULTI', async () => {
      const tx = this.redis.multi();
      if (override) tx.hset(this.#key('agent-status'), clientId, JSON.stringify(override));
      else tx.hdel(this.#key('agent-status'), clientId);
      tx.xadd(this.#key('events'), 'MAXLEN', '~', String(MAX_EVENTS), '*', 'e', event);
      await tx.exec();
    });
  }

  async addRevocation(revocation: Revocation): Promise<void> {
    const event = JSON.stringify({ type: 'revocation', revocation });
    await this.#run('MULTI', async () => {
      await this.redis.multi()
        .hset(this.#key('revocations'), revocation.id, JSON.stringify(revocation))
        .xadd(this.#key('events'), 'MAXLEN', '~', String(MAX_EVENTS), '*', 'e', event)
        .exec();
    });
  }

  async listRevocations(): Promise<Revocation[]> {
    const all = await this.#run('HGETALL', () => this.redis.hgetall(this.#key('revocations')));
    return Object.values(all).map((v) => JSON.parse(v) as Revocation);
  }

  async eventsSince(cursor: string | undefined, limit = 1000): Promise<StateEvent[]> {
    const start = cursor === undefined ? '-' : `(${cursor}`;
    const entries = await this.#run('XRANGE', () => this.redis.xrange(this.#key('events'), start, '+', 'COUNT', limit));
    return entries.map(([id, fields]) => ({ ...(JSON.parse(fields[1] ?? '{}') as Omit<StateEvent, 'cursor'>), cursor: id }));
  }

  async hit(key: string, windowMs: number, nowMs: number): Promise<number> {
    const bucket = Math.floor(nowMs / windowMs);
    const current = this.#key(`rl:${key}:${bucket}`);
    const previous = this.#key(`rl:${key}:${bucket - 1}`);
    const results = await this.#run('INCR', () => this.redis.multi().incr(current).pexpire(current, windowMs * 2).get(previous).exec());
    const count = Number(results?.[0]?.[1] ?? 0);
    const prev = Number(results?.[2]?.[1] ?? 0);
    return slidingCount(count, prev, windowMs, nowMs);
  }

  async addDistinct(key: string, member: string, windowMs: number, nowMs: number): Promise<number> {
    const k = this.#key(`hll:${key}:${Math.floor(nowMs / windowMs)}`);
    const results = await this.#run('PFADD', () => this.redis.multi().pfadd(k, member).pexpire(k, windowMs).pfcount(k).exec());
    return Number(results?.[2]?.[1] ?? 0);
  }

  async claimOnce(key: string, ttlMs: number): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const result = await this.#run('SET NX', () => this.redis.set(this.#key(`once:${key}`), '1', 'PX', ttl, 'NX'));
    return result === 'OK';
  }

  async ping(): Promise<void> {
    await this.#run('PING', () => this.redis.ping());
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    return Promise.resolve();
  }
}
