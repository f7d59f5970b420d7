/**
 * SharedState in Redis (a single server, a Sentinel-managed master or a Cluster), shared by every replica.
 * Commands never queue while Redis is unreachable: they fail at once (StateUnavailableError), so the broker
 * refuses to mint instead of waiting, and it recovers without a restart when Redis comes back (the client
 * reconnects in the background). Key layout and hash tags: state-keys.ts.
 */
import { randomBytes } from 'node:crypto';
import type { AgentStatusOverride, AgentStatusSnapshot, FeedPage, RateWindow, Revocation, RevocationSnapshot, SharedState, StateEvent } from './shared-state.js';
import { compareCursors, ReplicationUnconfirmedError, slidingCount, StateUnavailableError } from './shared-state.js';
import { parseRule, ruleId } from '../revocation/rules.js';
import { connectRedis, DEFAULT_COMMAND_TIMEOUT_MS, type RedisClient, type RedisConnectOptions } from './connect-redis.js';
import { distinctWindowKey, onceKey, rateGroupKey, rateWindowKey, stateKey } from './state-keys.js';

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
/**
 * KEYS[1] this window (incremented by ARGV[2], expires after two windows), KEYS[2] the previous one; returns
 * both counts.
 */
const HIT_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local previous = redis.call('GET', KEYS[2])
return { count, previous or '0' }
`;

const HIT_GROUP_COMMAND = 'brokerRateGroupHit';
/**
 * One window per pair of keys (KEYS[2i-1] this window, incremented, expires after ARGV[i] ms; KEYS[2i] the
 * previous one); returns every window's two counts in order. Every key carries the group's hash tag.
 */
const HIT_GROUP_SCRIPT = `
local out = {}
for i = 1, #KEYS, 2 do
  local count = redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[(i + 1) / 2])
  out[#out + 1] = count
  out[#out + 1] = redis.call('GET', KEYS[i + 1]) or '0'
end
return out
`;

const UPSERT_COMMAND = 'brokerUpsertRevocation';
/**
 * One rule per kind and value, merged atomically with the stored one (the later issuedBefore and expiresAt
 * win, so a replica whose clock is behind cannot shorten a rule), indexed by expiry, published on the feed;
 * and up to 100 expired rules dropped on the way (each write removes more than it adds, so expired rules
 * never pile up). KEYS: revocations hash, expiry zset, events stream. ARGV: id, rule JSON, now (s), maxlen.
 * Returns the stored rule as JSON. A stored value that cannot be decoded is replaced by the new rule.
 */
const UPSERT_SCRIPT = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3], 'LIMIT', 0, 100)
for _, id in ipairs(expired) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
local rule = cjson.decode(ARGV[2])
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  local ok, old = pcall(cjson.decode, existing)
  if ok and type(old) == 'table' then
    if type(old.issuedBefore) == 'number' and old.issuedBefore > rule.issuedBefore then rule.issuedBefore = old.issuedBefore end
    if type(old.expiresAt) == 'number' and old.expiresAt > rule.expiresAt then rule.expiresAt = old.expiresAt end
  end
end
local json = cjson.encode(rule)
redis.call('HSET', KEYS[1], ARGV[1], json)
redis.call('ZADD', KEYS[2], rule.expiresAt, ARGV[1])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'e', '{"type":"revocation","revocation":' .. json .. '}')
return json
`;

type UpsertFn = (hash: string, expiry: string, events: string, id: string, rule: string, nowSeconds: number, maxLen: number) => Promise<string>;

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
    redis.defineCommand(HIT_GROUP_COMMAND, { lua: HIT_GROUP_SCRIPT });
    this.#writer.defineCommand(UPSERT_COMMAND, { numberOfKeys: 3, lua: UPSERT_SCRIPT });
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

  async addRevocation(revocation: Revocation): Promise<Revocation> {
    const id = ruleId(revocation.kind, revocation.value);
    const upsert = (this.#writer as unknown as Record<typeof UPSERT_COMMAND, UpsertFn>)[UPSERT_COMMAND];
    const stored = await this.#run('EVALSHA', () => upsert.call(this.#writer,
      stateKey(this.prefix, 'revocations'), stateKey(this.prefix, 'revocation-expiry'), stateKey(this.prefix, 'events'),
      id, JSON.stringify({ ...revocation, id }), Math.floor(Date.now() / 1000), MAX_EVENTS));
    return parseRule(stored);
  }

  async listRevocations(): Promise<Revocation[]> {
    const all: Revocation[] = [];
    for await (const page of (await this.revocationSnapshot()).pages) all.push(...page);
    return all;
  }

  async revocationsByIds(ids: readonly string[]): Promise<Revocation[]> {
    if (ids.length === 0) return [];
    const raw = await this.#run('HMGET', () => this.redis.hmget(stateKey(this.prefix, 'revocations'), ...ids));
    return raw.flatMap((v) => (v === null ? [] : [parseRule(v)]));
  }

  /**
   * The feed position is read first, then the rules by HSCAN: every rule committed before that position is
   * in the hash for the whole scan, and HSCAN returns every element present for its whole duration. Rules
   * added meanwhile may appear too; harmless, since the feed after the position repeats them (idempotent).
   */
  async revocationSnapshot(pageSize = 1000): Promise<RevocationSnapshot> {
    const cursor = await this.feedPosition();
    const run = this.#run.bind(this);
    const redis = this.redis;
    const key = stateKey(this.prefix, 'revocations');
    async function* pages(): AsyncIterable<Revocation[]> {
      let scan = '0';
      do {
        const [next, flat] = await run('HSCAN', () => redis.hscan(key, scan, 'COUNT', pageSize));
        scan = next;
        const rules: Revocation[] = [];
        for (let i = 1; i < flat.length; i += 2) rules.push(parseRule(flat[i] ?? ''));
        if (rules.length > 0) yield rules;
      } while (scan !== '0');
    }
    return { cursor, pages: pages() };
  }

  async eventsSince(cursor: string | undefined, limit = 1000): Promise<StateEvent[]> {
    const start = cursor === undefined ? '-' : `(${cursor}`;
    const entries = await this.#run('XRANGE', () => this.redis.xrange(stateKey(this.prefix, 'events'), start, '+', 'COUNT', limit));
    return entries.map(([id, fields]) => ({ ...(JSON.parse(fields[1] ?? '{}') as Omit<StateEvent, 'cursor'>), cursor: id }));
  }

  async feedSince(cursor: string | undefined, limit = 1000): Promise<FeedPage> {
    if (cursor === undefined) return { events: [], truncated: false };
    const events = stateKey(this.prefix, 'events');
    const [after, first] = await this.#run('XRANGE', async () => replies(await this.redis.multi()
      .xrange(events, `(${cursor}`, '+', 'COUNT', limit)
      .xrange(events, '-', '+', 'COUNT', 1)
      .exec()));
    const oldest = (first as [string, string[]][])[0]?.[0];
    // The cursor's own entry is gone (trimmed, or the stream was lost): what followed it may be gone too.
    const truncated = oldest === undefined || compareCursors(oldest, cursor) > 0;
    if (truncated) return { events: [], truncated };
    return { truncated, events: (after as [string, string[]][]).map(([id, fields]) => ({ ...(JSON.parse(fields[1] ?? '{}') as Omit<StateEvent, 'cursor'>), cursor: id })) };
  }

  async feedPosition(): Promise<string | undefined> {
    const last = await this.#run('XREVRANGE', () => this.redis.xrevrange(stateKey(this.prefix, 'events'), '+', '-', 'COUNT', 1));
    return last[0]?.[0];
  }

  async feedKey(): Promise<Buffer> {
    const key = stateKey(this.prefix, 'feed-key');
    const existing = await this.#run('GET', () => this.redis.get(key));
    if (existing !== null) return Buffer.from(existing, 'base64url');
    // Every replica races to set it once; all then read the winner.
    await this.#run('SET NX', () => this.redis.set(key, randomBytes(32).toString('base64url'), 'NX'));
    const won = await this.#run('GET', () => this.redis.get(key));
    if (won === null) throw new StateUnavailableError('the feed key could not be read');
    return Buffer.from(won, 'base64url');
  }

  async hit(key: string, windowMs: number, nowMs: number, count = 1): Promise<number> {
    const bucket = Math.floor(nowMs / windowMs);
    const current = rateWindowKey(this.prefix, key, bucket);
    const previous = rateWindowKey(this.prefix, key, bucket - 1);
    const hitWindow = (this.redis as unknown as Record<typeof HIT_COMMAND, (current: string, previous: string, ttlMs: number, count: number) => Promise<[number, string]>>)[HIT_COMMAND];
    const [total, prev] = await this.#run('INCR', () => hitWindow.call(this.redis, current, previous, windowMs * 2, count));
    return slidingCount(total, Number(prev), windowMs, nowMs);
  }

  async hitGroup(group: string, windows: readonly RateWindow[], nowMs: number): Promise<number[]> {
    const keys: string[] = [];
    const ttls: number[] = [];
    for (const w of windows) {
      const bucket = Math.floor(nowMs / w.windowMs);
      keys.push(rateGroupKey(this.prefix, group, w.key, bucket), rateGroupKey(this.prefix, group, w.key, bucket - 1));
      ttls.push(w.windowMs * 2);
    }
    const hitGroup = (this.redis as unknown as Record<typeof HIT_GROUP_COMMAND, (numKeys: number, ...args: (string | number)[]) => Promise<(number | string)[]>>)[HIT_GROUP_COMMAND];
    const reply = await this.#run('INCR', () => hitGroup.call(this.redis, keys.length, ...keys, ...ttls));
    return windows.map((w, i) => slidingCount(Number(reply[2 * i]), Number(reply[2 * i + 1]), w.windowMs, nowMs));
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
