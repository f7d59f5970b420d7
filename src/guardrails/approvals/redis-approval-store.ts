/**
 * The approval store shared by every broker replica (issue 18): one Redis hash per request, each state change
 * one Lua script over that hash alone (Cluster-safe), so an approval given at one replica is seen, and minted
 * exactly once, at any other. Fields: `request` (the immutable JSON), `status`, `expires_at`, `interval`,
 * `next_poll`, `decision` (JSON), `minted_jti`. An index (sorted set by creation time) serves the admin listing;
 * the gate statistics are one hash of counters, written once per event-loop turn. Any Redis failure rejects with StateUnavailableError.
 */
import type { RedisClient } from '../../state/connect-redis.js';
import { StateUnavailableError } from '../../state/shared-state.js';
import { SLOW_DOWN_STEP_SECONDS, type Approval, type ApprovalDecisionMade, type ApprovalRequest } from './approval.js';
import { APPROVAL_RETENTION_MS, type ApprovalStore, type DecideResult, type GateStats, type MintClaim, type PollResult, type UseReport, type UseResult } from './approval-store.js';

/** ARGV: status, decision JSON, now. Returns ok | not_found | expired | <current status>. */
const DECIDE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'not_found' end
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'pending' then return status end
if tonumber(ARGV[3]) >= tonumber(redis.call('HGET', KEYS[1], 'expires_at')) then return 'expired' end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'decision', ARGV[2])
return 'ok'
`;

/** ARGV: now, slow-down step (s). Returns 0 (no such approval), or 1 (paced) / 2 (slow down). */
const POLL = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 1 end
local now = tonumber(ARGV[1])
local interval = tonumber(redis.call('HGET', KEYS[1], 'interval'))
local slow = 1
if now < tonumber(redis.call('HGET', KEYS[1], 'next_poll')) then
  interval = interval + tonumber(ARGV[2])
  slow = 2
end
redis.call('HSET', KEYS[1], 'interval', interval, 'next_poll', now + interval * 1000)
return slow
`;

/** ARGV: jti, now. Returns ok | not_found | expired | not_approved. */
const MINT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'not_found' end
if redis.call('HGET', KEYS[1], 'status') ~= 'approved' then return 'not_approved' end
if tonumber(ARGV[2]) >= tonumber(redis.call('HGET', KEYS[1], 'expires_at')) then return 'expired' end
redis.call('HSET', KEYS[1], 'status', 'minted', 'minted_jti', ARGV[1])
return 'ok'
`;

/**
 * KEYS[1] the approval, KEYS[2] its set of reported use ids (same slot); ARGV: kind, jti, use id, used JSON.
 * Returns first | retry | again | not_found | not_minted | other_token (approval-store.ts useTransition).
 */
const USE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'not_found' end
if redis.call('HGET', KEYS[1], 'status') ~= 'minted' then return 'not_minted' end
if redis.call('HGET', KEYS[1], 'minted_jti') ~= ARGV[2] then return 'other_token' end
if redis.call('SADD', KEYS[2], ARGV[3]) == 0 then return 'retry' end
redis.call('PEXPIRE', KEYS[2], math.max(1, redis.call('PTTL', KEYS[1])))
if ARGV[1] == 'used' and redis.call('HSETNX', KEYS[1], 'used', ARGV[4]) == 1 then return 'first' end
return 'again'
`;
const USE_RESULTS: readonly UseResult[] = ['first', 'retry', 'again', 'not_found', 'not_minted', 'other_token'];

const STATUSES: readonly string[] = ['pending', 'approved', 'rejected', 'minted'];

export class RedisApprovalStore implements ApprovalStore {
  constructor(private readonly redis: RedisClient, private readonly prefix: string) {}

  #key(id: string): string {
    return `${this.prefix}{approval:${id}}`;
  }

  get #index(): string {
    return `${this.prefix}approvals:index`;
  }

  get #statsKey(): string {
    return `${this.prefix}approvals:stats`;
  }

  async #run<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (cause) {
      throw new StateUnavailableError(`redis approvals ${what} failed`, { cause });
    }
  }

  async create(request: ApprovalRequest, intervalSeconds: number): Promise<Approval> {
    const key = this.#key(request.id);
    const nextPollAtMs = request.createdAtMs + intervalSeconds * 1000;
    await this.#run('create', async () => {
      await this.redis.multi()
        .hset(key, { request: JSON.stringify(request), status: 'pending', expires_at: String(request.expiresAtMs), interval: String(intervalSeconds), next_poll: String(nextPollAtMs) })
        .pexpireat(key, request.expiresAtMs + APPROVAL_RETENTION_MS)
        .exec();
      await this.redis.zadd(this.#index, request.createdAtMs, request.id);
    });
    return { ...request, status: 'pending', intervalSeconds, nextPollAtMs };
  }

  async get(id: string): Promise<Approval | null> {
    const fields = await this.#run('read', () => this.redis.hgetall(this.#key(id)));
    return parseApproval(fields);
  }

  async decide(id: string, status: 'approved' | 'rejected', made: ApprovalDecisionMade): Promise<DecideResult> {
    const reply = await this.#run('decide', () => this.redis.eval(DECIDE, 1, this.#key(id), status, JSON.stringify(made), String(made.atMs)));
    const approval = await this.get(id);
    if (reply === 'ok' && approval) return { ok: true, approval };
    if (reply === 'not_found' || !approval) return { ok: false, why: 'not_found' };
    return { ok: false, why: reply === 'expired' ? 'expired' : 'already_decided', approval };
  }

  async poll(id: string, nowMs: number): Promise<PollResult | null> {
    const reply = await this.#run('poll', () => this.redis.eval(POLL, 1, this.#key(id), String(nowMs), String(SLOW_DOWN_STEP_SECONDS)));
    if (reply === 0) return null;
    const approval = await this.get(id);
    return approval ? { approval, slowDown: reply === 2 } : null;
  }

  async claimMint(id: string, jti: string, nowMs: number): Promise<MintClaim> {
    const reply = await this.#run('mint', () => this.redis.eval(MINT, 1, this.#key(id), jti, String(nowMs)));
    if (reply === 'ok') return { ok: true };
    return { ok: false, why: reply === 'not_found' ? 'not_found' : reply === 'expired' ? 'expired' : 'not_approved' };
  }

  async recordUse(id: string, report: UseReport): Promise<UseResult> {
    const key = this.#key(id);
    const reply = await this.#run('use', () => this.redis.eval(USE, 2, key, `${key}:uses`, report.kind, report.jti, report.useId, JSON.stringify({ atMs: report.atMs, by: report.by })));
    const result = USE_RESULTS.find((r) => r === reply);
    if (result === undefined) throw new StateUnavailableError(`redis approvals use: unexpected reply ${String(reply)}`);
    return result;
  }

  async list(options: { readonly status?: Approval['status']; readonly limit: number; readonly nowMs: number }): Promise<Approval[]> {
    // Index entries outlive their hashes by at most a day's lapse plus the retention: trimmed here.
    const cutoff = options.nowMs - APPROVAL_RETENTION_MS - 86_400_000;
    const ids = await this.#run('list', async () => {
      await this.redis.zremrangebyscore(this.#index, '-inf', String(cutoff));
      return this.redis.zrevrange(this.#index, 0, 999);
    });
    const out: Approval[] = [];
    for (const id of ids) {
      const approval = await this.get(id);
      if (approval && (options.status === undefined || approval.status === options.status)) out.push(approval);
      if (out.length >= options.limit) break;
    }
    return out;
  }

  /**
   * Counts are added up in memory and written once per event-loop turn (one HINCRBY per tool and kind, one
   * pipelined write), not three commands (MULTI, HINCRBY, EXEC) per exchange: the counters are statistics,
   * not a guard, and under load a turn carries several exchanges. Every caller of one turn shares that write's
   * promise, so a failure still reaches each one's error handler; what failed to be written is added back and
   * goes with the next turn's write (nothing is lost to a Redis outage while this process lives).
   */
  countExchange(tool: string, gated: boolean): Promise<void> {
    this.#add(`${tool}:exchanges`, 1);
    if (gated) this.#add(`${tool}:gated`, 1);
    this.#scheduled ??= new Promise<void>((resolve) => { setImmediate(resolve); }).then(() => this.#flush());
    return this.#scheduled;
  }

  readonly #pending = new Map<string, number>();
  #scheduled: Promise<void> | undefined;

  #add(field: string, n: number): void {
    this.#pending.set(field, (this.#pending.get(field) ?? 0) + n);
  }

  async #flush(): Promise<void> {
    this.#scheduled = undefined;
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending];
    this.#pending.clear();
    // Plain commands, not a Pipeline object (ioredis builds one at a cost): auto-pipelining sends them in one
    // write with whatever else this turn sends. Only the counts whose command failed are added back.
    const results = await Promise.allSettled(batch.map(([field, n]) => this.redis.hincrby(this.#statsKey, field, n)));
    let failure: unknown;
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      failure ??= result.reason;
      const [field, n] = batch[i] as [string, number];
      this.#add(field, n);
    });
    if (failure !== undefined) throw new StateUnavailableError('redis approvals count failed', { cause: failure });
  }

  async stats(): Promise<GateStats> {
    // This replica's counts of the current turn first, so that what it has answered is in what it reports.
    await this.#flush();
    const all = await this.#run('stats', () => this.redis.hgetall(this.#statsKey));
    const out: Record<string, { exchanges: number; gated: number }> = {};
    for (const [field, value] of Object.entries(all)) {
      const at = field.lastIndexOf(':');
      const tool = field.slice(0, at);
      const kind = field.slice(at + 1);
      const entry = out[tool] ?? { exchanges: 0, gated: 0 };
      if (kind === 'exchanges' || kind === 'gated') entry[kind] = Number(value);
      out[tool] = entry;
    }
    return out;
  }
}

function parseApproval(fields: Record<string, string>): Approval | null {
  const { request, status, interval, next_poll: nextPoll, decision, minted_jti: mintedJti, used } = fields;
  if (request === undefined || status === undefined || !STATUSES.includes(status)) return null;
  return {
    ...(JSON.parse(request) as ApprovalRequest),
    status: status as Approval['status'],
    intervalSeconds: Number(interval),
    nextPollAtMs: Number(nextPoll),
    ...(decision !== undefined ? { decision: JSON.parse(decision) as ApprovalDecisionMade } : {}),
    ...(mintedJti !== undefined ? { mintedJti } : {}),
    ...(used !== undefined ? { used: JSON.parse(used) as { atMs: number; by: string } } : {}),
  };
}
