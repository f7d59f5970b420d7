/**
 * Token requests per caller address, counted before client authentication (issue 14 item 5): anyone can
 * reach /token, so the first thing it does with a request is count it against its source. Over the limit
 * the answer is `429 temporarily_unavailable` with `Retry-After` (the shape of `rate_limited`; RFC 6749
 * §5.2 has no code of its own for it), reason `source_rate_limited`, and no client authentication, no
 * secret check, no per-request record (unauthenticated denials are aggregated).
 *
 * The count is shared by the replicas (SharedState.hit, a sliding window) behind a local pre-filter, so a
 * flood does not become a Redis flood: each replica counts each address itself too, and once either count
 * is over the limit it refuses from memory for a second before asking the shared state again. So one
 * address costs Redis at most `limit` commands per window per replica, plus one a second while refused.
 * Requests refused from memory count locally too: a caller that keeps sending while refused stays refused
 * until the window turns; one that waits for Retry-After is asked about again.
 *
 * The shared state unreachable: the request proceeds to client authentication, limited by this replica's
 * own count only. The limit protects availability, not a decision: nothing can be minted while the shared
 * state is down anyway (agent status and rate limits fail closed with `state_unavailable`), and refusing
 * every caller here would turn a Redis outage into refusals that name the wrong cause.
 *
 * The source is the TCP peer address (`ctx.ip`; oidc-provider's `proxy` is off, so `X-Forwarded-For` is
 * ignored): behind a reverse proxy every request comes from the proxy, so size the limit for it or turn it off.
 */
import { StateUnavailableError, type SharedState } from '../state/shared-state.js';

export interface SourceLimit {
  readonly limit: number;
  readonly windowMs: number;
}

export interface SourceLimiterDeps {
  readonly limit: SourceLimit;
  readonly state: SharedState;
  /** Addresses remembered locally (default 50,000); beyond that the oldest windows are dropped. */
  readonly maxSources?: number;
  readonly onStateUnavailable?: (err: unknown) => void;
}

/** How long a refused address is refused from memory before the shared count is asked again. */
export const REFUSED_FOR_MS = 1000;

interface Local {
  bucket: number;
  count: number;
  refusedUntil: number;
}

/** Resolves to the seconds to send in Retry-After when `address` is over its limit, or undefined. */
export type SourceLimiter = ((address: string, nowMs: number) => Promise<number | undefined>) & {
  /**
   * Synchronous, local memory only (never the shared state): the Retry-After seconds when `address` is
   * refused from memory right now, counting the request as the async check does; otherwise undefined and
   * nothing is counted (the async check then counts and decides). For the fast refusal (fast-refusal.ts).
   */
  refusedNow(address: string, nowMs: number): number | undefined;
};

export function createSourceLimiter(deps: SourceLimiterDeps): SourceLimiter {
  const { limit, windowMs } = deps.limit;
  const maxSources = deps.maxSources ?? 50_000;
  const local = new Map<string, Local>();

  function localEntry(address: string, bucket: number): Local {
    let entry = local.get(address);
    if (entry && entry.bucket !== bucket) {
      entry.bucket = bucket;
      entry.count = 0;
    }
    if (!entry) {
      if (local.size >= maxSources) {
        for (const [key, e] of local) if (e.bucket !== bucket) local.delete(key);
        if (local.size >= maxSources) local.clear(); // all current: the shared count still limits them
      }
      entry = { bucket, count: 0, refusedUntil: 0 };
      local.set(address, entry);
    }
    return entry;
  }

  function refusedNow(address: string, nowMs: number): number | undefined {
    const entry = local.get(address);
    if (!entry || entry.refusedUntil <= nowMs) return undefined;
    localEntry(address, Math.floor(nowMs / windowMs)).count += 1;
    return Math.ceil((entry.refusedUntil - nowMs) / 1000);
  }

  return Object.assign(async function overLimit(address: string, nowMs: number) {
    const entry = localEntry(address, Math.floor(nowMs / windowMs));
    entry.count += 1;
    if (entry.refusedUntil > nowMs) return Math.ceil((entry.refusedUntil - nowMs) / 1000);
    if (entry.count > limit) {
      entry.refusedUntil = nowMs + REFUSED_FOR_MS;
      return REFUSED_FOR_MS / 1000;
    }
    let shared: number;
    try {
      shared = await deps.state.hit(`src:${address}`, windowMs, nowMs);
    } catch (err) {
      if (!(err instanceof StateUnavailableError)) throw err;
      deps.onStateUnavailable?.(err);
      return undefined;
    }
    if (shared > limit) {
      entry.refusedUntil = nowMs + REFUSED_FOR_MS;
      return REFUSED_FOR_MS / 1000;
    }
    return undefined;
  }, { refusedNow });
}
