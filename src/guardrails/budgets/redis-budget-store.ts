/**
 * Budget counters in Redis, shared by every replica (STANDARDS 34: no interleaving of requests spends past
 * a limit). One Lua script reads every counter of an exchange and the raises a person made for its window,
 * and increments them all only if each has room: Redis runs a script atomically, so two replicas racing
 * for the last unit cannot both see it free. Keys (one agent's counters share the hash tag, so the script
 * touches one Redis Cluster slot):
 *
 *   <prefix>{budget:<agent>}:<scope>|<metric>|<window>         STRING  used in that window
 *   <prefix>{budget:<agent>}:<scope>|<metric>|<window>:extra   STRING  a person's raise of that window's limit
 *   <prefix>budget-once:<key>                                  STRING  one notification per budget and window
 *
 * Every key expires (PEXPIREAT, an absolute time every replica agrees on) an hour after its window ends.
 * A failing Redis throws StateUnavailableError: the exchange is refused (fail closed), never let through.
 */
import type { RedisClient } from '../../state/connect-redis.js';
import { StateUnavailableError } from '../../state/shared-state.js';
import { counterId, HOUR_MS, type BudgetCounter, type ReserveResult } from './budget-plan.js';
import { evaluate, type BudgetStore } from './budget-store.js';

const COMMAND = 'brokerBudgetReserve';
/**
 * KEYS[1..n]: the counters, KEYS[n+1..2n]: their raises. ARGV[1]: `reserve` or `peek`; then per counter
 * i, from ARGV[2 + 3(i-1)]: limit, add, expire-at (epoch ms). Returns { index of the first counter without
 * room (0: none), used_1, extra_1, ..., used_n, extra_n }; with `reserve` and no such counter, all were added.
 */
const SCRIPT = `
local n = #KEYS / 2
local out = { 0 }
local failed = 0
for i = 1, n do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  local extra = tonumber(redis.call('GET', KEYS[n + i]) or '0')
  local base = 2 + (i - 1) * 3
  out[#out + 1] = used
  out[#out + 1] = extra
  if failed == 0 and used + tonumber(ARGV[base + 1]) > tonumber(ARGV[base]) + extra then failed = i end
end
if failed == 0 and ARGV[1] == 'reserve' then
  for i = 1, n do
    local base = 2 + (i - 1) * 3
    local add = tonumber(ARGV[base + 1])
    if add > 0 then
      redis.call('INCRBY', KEYS[i], add)
      redis.call('PEXPIREAT', KEYS[i], ARGV[base + 2])
    end
  end
end
out[1] = failed
return out
`;

type ReserveFn = (...args: (string | number)[]) => Promise<unknown>;

/** Counters are kept an hour past their window: a replica whose clock lags still finds them. */
const KEEP_AFTER_WINDOW_MS = HOUR_MS;

export class RedisBudgetStore implements BudgetStore {
  readonly kind = 'redis' as const;

  constructor(private readonly redis: RedisClient, private readonly prefix = 'broker:') {
    redis.defineCommand(COMMAND, { lua: SCRIPT });
  }

  #key(agent: string, counter: BudgetCounter): string {
    return `${this.prefix}{budget:${agent}}:${counterId(counter)}`;
  }

  async #run(mode: 'reserve' | 'peek', agent: string, counters: readonly BudgetCounter[]): Promise<ReserveResult> {
    if (counters.length === 0) return { ok: true, counters: [] };
    const keys = counters.map((c) => this.#key(agent, c));
    const args: (string | number)[] = [keys.length * 2, ...keys, ...keys.map((k) => `${k}:extra`), mode];
    for (const c of counters) args.push(c.limit, c.add, c.windowEndMs + KEEP_AFTER_WINDOW_MS);
    let reply: unknown;
    try {
      const reserve = (this.redis as unknown as Record<string, ReserveFn | undefined>)[COMMAND];
      if (!reserve) throw new Error('budget script not defined');
      reply = await reserve.call(this.redis, ...args);
    } catch (cause) {
      throw new StateUnavailableError('redis budget reservation failed', { cause });
    }
    if (!Array.isArray(reply) || reply.length !== 1 + counters.length * 2) throw new StateUnavailableError('redis budget reservation: unexpected reply');
    const values = reply.map(Number);
    const used = counters.map((_, i) => values[1 + i * 2] ?? 0);
    const extra = counters.map((_, i) => values[2 + i * 2] ?? 0);
    return evaluate(counters, used, extra);
  }

  reserve(agent: string, counters: readonly BudgetCounter[]): Promise<ReserveResult> {
    return this.#run('reserve', agent, counters);
  }

  peek(agent: string, counters: readonly BudgetCounter[]): Promise<ReserveResult> {
    return this.#run('peek', agent, counters);
  }

  async reset(agent: string, counter: BudgetCounter): Promise<void> {
    try {
      await this.redis.del(this.#key(agent, counter));
    } catch (cause) {
      throw new StateUnavailableError('redis budget reset failed', { cause });
    }
  }

  async raise(agent: string, counter: BudgetCounter, extra: number): Promise<number> {
    const key = `${this.#key(agent, counter)}:extra`;
    try {
      const total = await this.redis.incrby(key, extra);
      await this.redis.pexpireat(key, counter.windowEndMs + KEEP_AFTER_WINDOW_MS);
      return total;
    } catch (cause) {
      throw new StateUnavailableError('redis budget raise failed', { cause });
    }
  }

  async once(key: string, ttlMs: number): Promise<boolean> {
    try {
      return (await this.redis.set(`${this.prefix}budget-once:${key}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
    } catch (cause) {
      throw new StateUnavailableError('redis budget notification claim failed', { cause });
    }
  }
}
