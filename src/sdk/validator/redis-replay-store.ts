/**
 * A DPoP replay store shared by every replica of a downstream service: a proof accepted by one replica is
 * refused as replayed by all the others (RFC 9449 §11.1), which a per-process cache cannot do.
 *
 * One Lua script per claim, over two keys in the same Redis Cluster slot (the proof key's thumbprint is the
 * hash tag):
 *   <prefix>{<jkt>}:<sha256(jti)>   the proof, SET PX <window>
 *   <prefix>{<jkt>}                 how many proofs of this key were accepted in the current window (the
 *                                   window starts with the key's first proof and lasts the replay window)
 * A Redis error or timeout rejects the claim; the validator then answers 503 (fail closed).
 */
import type { Cluster, Redis } from 'ioredis';
import type { ClaimResult, DpopReplayStore } from './replay-cache.js';

/** KEYS[1] the proof, KEYS[2] the key's counter; ARGV[1] window ms, ARGV[2] cap per key. 0 fresh, 1 replayed, 2 owner full. */
const CLAIM_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
local held = tonumber(redis.call('GET', KEYS[2]) or '0')
if held >= tonumber(ARGV[2]) then return 2 end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
if held == 0 then redis.call('SET', KEYS[2], '1', 'PX', ARGV[1]) else redis.call('INCR', KEYS[2]) end
return 0
`;

const RESULTS: readonly ClaimResult[] = ['fresh', 'replayed', 'owner_full'];

export interface RedisReplayStoreOptions {
  /** Key prefix (default `dpop-replay:`); give each service its own when several share one Redis. */
  readonly prefix?: string;
  /** Proofs one key may have accepted per replay window (default 10,000). */
  readonly maxPerKey?: number;
}

/** A shared replay store on an ioredis client (standalone, Sentinel or Cluster) that the caller owns and closes. */
export function redisReplayStore(redis: Redis | Cluster, options: RedisReplayStoreOptions = {}): DpopReplayStore {
  const prefix = options.prefix ?? 'dpop-replay:';
  const maxPerKey = options.maxPerKey ?? 10_000;
  if (!Number.isInteger(maxPerKey) || maxPerKey < 1) throw new RangeError('maxPerKey must be a positive integer');
  return {
    async claim(owner: string, id: string, ttlMs: number): Promise<ClaimResult> {
      const counter = `${prefix}{${owner}}`;
      const reply = await redis.eval(CLAIM_SCRIPT, 2, `${counter}:${id}`, counter, String(Math.max(1, Math.ceil(ttlMs))), String(maxPerKey));
      const result = typeof reply === 'number' ? RESULTS[reply] : undefined;
      if (result === undefined) throw new Error(`unexpected reply from the DPoP replay script: ${String(reply)}`);
      return result;
    },
  };
}
