/**
 * The lifetime of a minted token (product rule): the smallest of now + tool max TTL, now + agent max TTL,
 * the subject token's `exp` and the end of the current time window. All in whole seconds.
 */
import type { Grant } from '../domain/exchange.js';
import { deny, type Denial } from './reasons.js';

export interface LifetimeBounds {
  readonly nowSeconds: number;
  readonly toolMaxTtlSeconds: number;
  readonly agentMaxTtlSeconds: number;
  readonly subjectExpSeconds: number;
  /** End of the current time window in milliseconds, or null when the tool has no windows. */
  readonly windowEndMs: number | null;
}

export type BoundedLifetime = { exp: number; boundBy: Exclude<Grant['lifetimeBoundBy'], 'approval_single_use'> };

/**
 * Ties are broken by the fixed order tool_max_ttl, agent_max_ttl, subject_token_exp, time_window_end:
 * the first bound in that order holding the smallest value is reported. Non-finite inputs fail closed.
 */
export function boundLifetime(b: LifetimeBounds): BoundedLifetime | Denial {
  const now = Math.floor(b.nowSeconds);
  const candidates: readonly (readonly [BoundedLifetime['boundBy'], number])[] = [
    ['tool_max_ttl', now + Math.floor(b.toolMaxTtlSeconds)],
    ['agent_max_ttl', now + Math.floor(b.agentMaxTtlSeconds)],
    ['subject_token_exp', Math.floor(b.subjectExpSeconds)],
    ...(b.windowEndMs === null ? [] : [['time_window_end', Math.floor(b.windowEndMs / 1000)] as const]),
  ];
  let best: BoundedLifetime | undefined;
  for (const [boundBy, exp] of candidates) {
    if (!Number.isFinite(exp)) return deny('lifetime_empty', 'token lifetime cannot be determined');
    if (best === undefined || exp < best.exp) best = { exp, boundBy };
  }
  if (best === undefined || best.exp <= now) return deny('lifetime_empty', 'no token lifetime remains');
  return best;
}
