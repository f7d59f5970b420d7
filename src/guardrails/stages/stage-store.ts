/**
 * A person's change of an agent's rollout stage, shared by every replica: it overrides the stage the agent
 * file declares until the file is changed (and the override cleared). In memory for the development
 * default; in Redis (`<prefix>{guardrails}:stages`, a hash client_id -> StageOverride JSON) otherwise.
 * A Redis failure throws StateUnavailableError: the exchange is refused, never minted at an unknown stage.
 */
import type { RedisClient } from '../../state/connect-redis.js';
import { StateUnavailableError } from '../../state/shared-state.js';
import { isStage, type Stage } from './stage.js';

export interface StageOverride {
  readonly stage: Stage;
  readonly by: string;
  readonly reason: string;
  /** Seconds since the epoch. */
  readonly at: number;
}

export interface StageStore {
  get(agent: string): Promise<StageOverride | null>;
  set(agent: string, override: StageOverride | null): Promise<void>;
}

export class MemoryStageStore implements StageStore {
  readonly #map = new Map<string, StageOverride>();
  get(agent: string): Promise<StageOverride | null> {
    return Promise.resolve(this.#map.get(agent) ?? null);
  }
  set(agent: string, override: StageOverride | null): Promise<void> {
    if (override) this.#map.set(agent, override);
    else this.#map.delete(agent);
    return Promise.resolve();
  }
}

export class RedisStageStore implements StageStore {
  readonly #key: string;
  constructor(private readonly redis: RedisClient, prefix = 'broker:') {
    this.#key = `${prefix}{guardrails}:stages`;
  }
  async get(agent: string): Promise<StageOverride | null> {
    let raw: string | null;
    try {
      raw = await this.redis.hget(this.#key, agent);
    } catch (cause) {
      throw new StateUnavailableError('redis stage read failed', { cause });
    }
    if (raw === null) return null;
    const parsed = JSON.parse(raw) as Partial<StageOverride>;
    if (!isStage(parsed.stage)) throw new StateUnavailableError('stored stage override is not readable');
    return parsed as StageOverride;
  }
  async set(agent: string, override: StageOverride | null): Promise<void> {
    try {
      if (override) await this.redis.hset(this.#key, agent, JSON.stringify(override));
      else await this.redis.hdel(this.#key, agent);
    } catch (cause) {
      throw new StateUnavailableError('redis stage write failed', { cause });
    }
  }
}
