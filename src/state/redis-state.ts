/**
 * SharedState in Redis (a single server, a Sentinel-managed master or a Cluster), shared by every replica.
 * Commands never queue while Redis is unreachable: they fail at once (StateUnavailableError), so the broker
 * refuses to mint instead of waiting, and it recovers without a restart when Redis comes back (the client
 * reconnects in the background). Key layout and hash tags: state-keys.ts.
 */
import type { AgentStatusOverride, AgentStatusSnapshot, Revocation, SharedState, StateEvent } from './shared-state.js';
import { ReplicationUnconfirmedError, slidingCount, StateUnavailableError } from './shared-state.js';
import { connectRedis, DEFAULT_COMMAND_TIMEOUT_MS, type RedisClient, type RedisConnectOptions } from './connect-redis.js';
import { distinctWindowKey, onceKey, rateWindowKey, stateKey } from './state-keys.js';

export type RedisStateOptions = RedisConnectOptions & {
  readonly prefix?: string;
  /** Agent status changes and revocations wait (WAIT) until this many replicas acknowledge them. */
  readonly replicaAcks?: { readonly replicas: number; readonly timeoutMs: number };
  /** How long `connect` waits for Redis to answer (default 5 s). */
  readonly timeoutMs?: number;
};

const MAX_EVENTS = 10_000;

type ExecResult = [error: Error | null, result: unknown][] | null;

/** A MULTI's replies, or the first command error (EXEC resolves even when a queued command failed). */
function replies(results: ExecResult): unknown[] {
  if (!results) throw new Error('transaction aborted');
  return results.map(([error, result]) => {
    if (error) throw error;
    return result;
  });
}

const HIT_COMMAND = 'brokerRateWindowHit';
/** KEYS[1] this window (incremented, expires after two windows), KEYS[2] the previous one; returns both counts. */
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local previous = redis.call('GET', KEYS[2])
return { count, previous or '0' }
`;

export class RedisState implements SharedState {
  readonly kind = 'redis' as const;

  readonly #writer: RedisClient;
  readonly #acks: { readonly replicas: number; readonly timeoutMs: number } | undefined;

  /**
   * With `confirmed`, status changes and revocations go through their own connection (`writer`), and
   * confirmReplicated WAITs on it: WAIT blocks the connection it is sent on and counts that connection's
   * writes, so the exchanges' commands on `redis` never queue behind it.
   */
  constructor(readonly redis: RedisClient, readonly prefix = 'broker:', confirmed?: { readonly writer: RedisClient; readonly replicas: number; readonly timeoutMs: number }) {
    this.#writer = confirmed?.writer ?? redis;
    this.#acks = confirmed;
    // One script call per hit instead of a MULTI of three commands: a single round trip, and far less work
    // for the client (the rate-limit windows are counted on every exchange). ioredis sends it by EVALSHA,
    // loading it once per connection; both keys share the limit's hash tag.
    redis.defineCommand(HIT_COMMAND, { numberOfKeys: 2, lua: HIT_SCRIPT });
  }

  /** Connects and waits until Redis answers (bounded); the broker calls this before serving. */
  static async connect(opts: RedisStateOptions): Promise<RedisState> {
    const redis = await connectRedis(opts);
    if (opts.replicaAcks === undefined) return new RedisState(redis, opts.prefix ?? 'broker:');
    try {
      // The writer's commands may include a WAIT of up to timeoutMs, so its bound is that much longer.
      const writer = await connectRedis({ ...opts, commandTimeoutMs: (opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS) + opts.replicaAcks.timeoutMs });
      return new RedisState(redis, opts.prefix ?? 'broker:', { writer, ...opts.replicaAcks });
    } catch (err) {
      redis.disconnect();
      throw err;
    }
  }

  /**
   * With `replicaAcks`: waits until that many replicas hold this connection's writes so far (the changes just
   * made among them), or throws when fewer acknowledged in time. The changes stay on the master either way.
   */
  async confirmReplicated(what: string): Promise<void> {
    if (this.#acks === undefined) return;
    const { replicas, timeoutMs } = this.#acks;
    const acked = Number(await this.#run('WAIT', () => this.#writer.call('WAIT', replicas, timeoutMs)));
    if (acked < replicas) {
      throw new ReplicationUnconfirmedError(`${what} is on the Redis master, but ${String(acked)} of the ${String(replicas)} required replicas acknowledged it within ${String(timeoutMs)} ms`);
    }
  }

  async #run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      throw new StateUnavailableError(`redis ${what} failed`, { cause });
    }
  }

  async agentOverride(clientId: string): Promise<AgentStatusOverride | null> {
    const raw = await this.#run('HGET', () => this.redis.hget(stateKey(this.prefix, 'agent-status'), clientId));
    return raw === null ? null : (JSON.parse(raw) as AgentStatusOverride);
  }

  async agentStatusSnapshot(): Promise<AgentStatusSnapshot> {
    const [all, last] = await this.#run('MULTI', async () => replies(await this.redis.multi()
      .hgetall(stateKey(this.prefix, 'agent-status'))
      .xrevrange(stateKey(this.prefix, 'events'), '+', '-', 'COUNT', 1)
      .exec()));
    const overrides = new Map(Object.entries(all as Record<string, string>).map(([id, v]) => [id, JSON.parse(v) as AgentStatusOverride]));
    return { overrides, cursor: (last as [string, string[]][])[0]?.[0] };
  }

  async setAgentOverride(clientId: string, override: AgentStatusOverride | null): Promise<void> {
    const event = JSON.stringify({ type: 'agent_status', agent: { clientId, override } });
    await this.#run('MULTI', async () => {
      const tx = this.#writer.multi();
      if (override) tx.hset(stateKey(this.prefix, 'agent-status'), clientId, JSON.stringify(override));
      else tx.hdel(stateKey(this.prefix, 'agent-status'), clientId);
      tx.xadd(stateKey(this.prefix, 'events'), 'MAXLEN', '~', String(MAX_EVENTS), '*', 'e', event);
      replies(await tx.exec());
    });
  }

  async addRevocation(revocation: Revocation): Promise<void> {
    const event = JSON.stringify({ type: 'revocation', revocation });
    await this.#run('MULTI', async () => {
      replies(await this.#writer.multi()
        .hset(stateKey(this.prefix, 'revocations'), revocation.id, JSON.stringify(revocation))
        .xadd(stateKey(this.prefix, 'events'), 'MAXLEN', '~', String(MAX_EVENTS), '*', 'e', event)
        .exec());
    });
  }

  async listRevocations(): Promise<Revocation[]> {
    const all = await this.#run('HGETALL', () => this.redis.hgetall(stateKey(this.prefix, 'revocations')));
    return Object.values(all).map((v) => JSON.parse(v) as Revocation);
  }

  async eventsSince(cursor: string | undefined, limit = 1000): Promise<StateEvent[]> {
    const start = cursor === undefined ? '-' : `(${cursor}`;
    const entries = await this.#run('XRANGE', () => this.redis.xrange(stateKey(this.prefix, 'events'), start, '+', 'COUNT', limit));
    return entries.map(([id, fields]) => ({ ...(JSON.parse(fields[1] ?? '{}') as Omit<StateEvent, 'cursor'>), cursor: id }));
  }

  async hit(key: string, windowMs: number, nowMs: number): Promise<number> {
    const bucket = Math.floor(nowMs / windowMs);
    const current = rateWindowKey(this.prefix, key, bucket);
    const previous = rateWindowKey(this.prefix, key, bucket - 1);
    const hitWindow = (this.redis as unknown as Record<typeof HIT_COMMAND, (current: string, previous: string, ttlMs: number) => Promise<[number, string]>>)[HIT_COMMAND];
    const [count, prev] = await this.#run('INCR', () => hitWindow.call(this.redis, current, previous, windowMs * 2));
    return slidingCount(count, Number(prev), windowMs, nowMs);
  }

  async addDistinct(key: string, member: string, windowMs: number, nowMs: number): Promise<number> {
    const k = distinctWindowKey(this.prefix, key, Math.floor(nowMs / windowMs));
    const [, , count] = await this.#run('PFADD', async () => replies(await this.redis.multi().pfadd(k, member).pexpire(k, windowMs).pfcount(k).exec()));
    return Number(count ?? 0);
  }

  async claimOnce(key: string, ttlMs: number): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const result = await this.#run('SET NX', () => this.redis.set(onceKey(this.prefix, key), '1', 'PX', ttl, 'NX'));
    return result === 'OK';
  }

  async ping(): Promise<void> {
    await this.#run('PING', () => this.redis.ping());
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    if (this.#writer !== this.redis) this.#writer.disconnect();
    return Promise.resolve();
  }
}
