/**
 * Assembles the guardrails of one broker from its shared state: budget counters and stage overrides in
 * Redis when the state is (shared by every replica), in memory otherwise (the development default).
 */
import { randomUUID } from 'node:crypto';
import type { AdminActions } from '../admin/admin-actions.js';
import type { AttributionSink } from '../attribution/sink.js';
import type { Logger } from '../log.js';
import { RedisState } from '../state/redis-state.js';
import type { SharedState } from '../state/shared-state.js';
import { createWebhookNotifier, type BudgetNotifier } from './budgets/budget-notifier.js';
import type { BudgetStore } from './budgets/budget-store.js';
import { MemoryBudgetStore } from './budgets/memory-budget-store.js';
import { RedisBudgetStore } from './budgets/redis-budget-store.js';
import { createGuardrails, type Guardrails } from './guardrail-step.js';
import { MemoryStageStore, RedisStageStore, type StageStore } from './stages/stage-store.js';

export interface BuiltGuardrails {
  readonly guardrails: Guardrails;
  readonly budgets: BudgetStore;
  readonly stages: StageStore;
}

export function buildGuardrails(opts: {
  readonly state: SharedState;
  readonly sink: AttributionSink;
  readonly log: Logger;
  readonly now: () => number;
  /** The admin actions (late-bound: they are built after the token endpoint). */
  readonly actions: () => AdminActions;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly notify?: BudgetNotifier;
  /** How stale a replica's copy of the stage overrides may be before exchanges are refused (redis.propagation_window). */
  readonly propagationWindowMs?: number;
}): BuiltGuardrails {
  const redis = opts.state instanceof RedisState ? opts.state : undefined;
  const budgets: BudgetStore = redis ? new RedisBudgetStore(redis.redis, redis.prefix) : new MemoryBudgetStore(opts.now);
  const stages: StageStore = redis ? new RedisStageStore(redis.redis, redis.prefix, opts.propagationWindowMs) : new MemoryStageStore();
  const guardrails = createGuardrails({
    budgets, stages, log: opts.log,
    record: (record) => opts.sink.append(record),
    notify: opts.notify ?? createWebhookNotifier({ env: opts.env ?? process.env, log: opts.log, now: opts.now }),
    suspend: async (clientId, by, reason) => {
      await opts.actions().agent('suspend', clientId, { by, reason, requestId: randomUUID(), callerAddress: 'broker' });
    },
  });
  return { guardrails, budgets, stages };
}
