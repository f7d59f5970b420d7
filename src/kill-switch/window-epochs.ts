/**
 * The kill switch's counting windows start afresh when a person reinstates an agent: each agent's counter
 * keys carry an epoch, and the reinstatement bumps it, so the counts that suspended the agent are never read
 * again (they expire with their window). Without that, the next denial after a reinstatement met the old,
 * still-full window and suspended the agent again at once.
 *
 * The epoch lives where the counters do (shared by every replica): in memory for one process, in Redis as
 * `<prefix>{ks:<agent>}:epoch` (its own hash tag: one key per command, any Redis Cluster slot).
 */
import type { AdminActions } from '../admin/admin-actions.js';
import type { RedisClient } from '../state/connect-redis.js';
import { RedisState } from '../state/redis-state.js';
import { StateUnavailableError, type SharedState } from '../state/shared-state.js';

export interface WindowEpochs {
  /** The agent's current epoch (0 before its first reinstatement). */
  current(agentId: string): Promise<number>;
  /** Starts fresh windows for the agent; resolves once every replica reads the new epoch. */
  bump(agentId: string): Promise<number>;
}

export function memoryWindowEpochs(): WindowEpochs {
  const epochs = new Map<string, number>();
  return {
    current: (agentId) => Promise.resolve(epochs.get(agentId) ?? 0),
    bump: (agentId) => {
      const next = (epochs.get(agentId) ?? 0) + 1;
      epochs.set(agentId, next);
      return Promise.resolve(next);
    },
  };
}

export function epochKey(prefix: string, agentId: string): string {
  return `${prefix}{ks:${agentId}}:epoch`;
}

export function redisWindowEpochs(redis: RedisClient, prefix: string): WindowEpochs {
  const run = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (cause) {
      throw new StateUnavailableError(`redis ${what} failed`, { cause });
    }
  };
  return {
    current: async (agentId) => Number((await run('GET', () => redis.get(epochKey(prefix, agentId)))) ?? 0),
    bump: (agentId) => run('INCR', () => redis.incr(epochKey(prefix, agentId))),
  };
}

/** The epochs for the broker's shared state. */
export function windowEpochsFor(state: SharedState): WindowEpochs {
  return state instanceof RedisState ? redisWindowEpochs(state.redis, state.prefix) : memoryWindowEpochs();
}

/**
 * The admin actions, with a reinstatement that first starts fresh kill-switch windows for the agent. First:
 * if the reinstatement then fails, the agent is still suspended with empty windows (harmless); the other
 * order would leave a moment in which a reinstated agent is counted against its old windows. If the bump
 * fails (shared state unavailable) the reinstatement is not attempted: the caller gets the 503 it would get.
 */
export function resetWindowsOnReinstate(actions: AdminActions, epochs: WindowEpochs): AdminActions {
  return {
    ...actions,
    async agent(action, clientId, ctx) {
      if (action === 'reinstate') await epochs.bump(clientId);
      return actions.agent(action, clientId, ctx);
    },
  };
}
