/**
 * Where budget counters live: in memory (the development default, one process) or in Redis (shared by
 * every replica). Both check and reserve every counter of an exchange atomically: either all of them have
 * room and all are incremented, or none is. Only a person raises a window's limit or resets its counter.
 */
import type { BudgetCounter, ReserveResult } from './budget-plan.js';

export interface BudgetStore {
  readonly kind: 'memory' | 'redis';
  /** Checks every counter and, if all have room, adds each counter's `add`; atomic across replicas. */
  reserve(agent: string, counters: readonly BudgetCounter[]): Promise<ReserveResult>;
  /** The same check without reserving (shadow stage, explain). */
  peek(agent: string, counters: readonly BudgetCounter[]): Promise<ReserveResult>;
  /** A person sets the counter of one window back to zero. */
  reset(agent: string, counter: BudgetCounter): Promise<void>;
  /** A person adds `extra` to the limit of one window (cumulative); returns the total extra now. */
  raise(agent: string, counter: BudgetCounter, extra: number): Promise<number>;
  /** True the first time `key` is claimed within `ttlMs` (one notification per budget and window). */
  once(key: string, ttlMs: number): Promise<boolean>;
}

export function evaluate(counters: readonly BudgetCounter[], used: readonly number[], extra: readonly number[]): ReserveResult {
  const states = counters.map((counter, i) => ({ counter, used: used[i] ?? 0, limit: counter.limit + (extra[i] ?? 0) }));
  const exceeded = states.find((s) => s.used + s.counter.add > s.limit);
  return exceeded ? { ok: false, counters: states, exceeded } : { ok: true, counters: states };
}
