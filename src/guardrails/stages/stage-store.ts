/**
 * A person's change of an agent's rollout stage, shared by every replica: it overrides the stage the agent
 * file declares until the file is changed (and the override cleared). In memory for the development
 * default; in Redis (`<prefix>{guardrails}:stages`, a hash client_id -> StageOverride JSON) otherwise, read
 * through a per-replica mirror (RedisStageStore below). A Redis failure throws StateUnavailableError: the
 * exchange is refused, never minted at an unknown stage.
 */
import { DEFAULT_PROPAGATION_WINDOW_MS } from '../../config/redis-config.js';
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

/** Reading the whole hash at most every this often (a tenth of the window, as the agent-status mirror polls). */
const POLL_DIVISOR = 10;
/** Polling stops after this many windows without a read, and starts again with the next read. */
const IDLE_WINDOWS = 30;

/**
 * The stage overrides of every agent, mirrored in memory from Redis (issue 16: no Redis read per exchange).
 * A background read of the whole hash (HGETALL; one entry per agent a person re-staged) every window / 10
 * while exchanges ask; `get()` answers from memory while the last successful read *started* less than the
 * propagation window ago (DEFAULT_PROPAGATION_WINDOW_MS, as the agent-status mirror), otherwise waits at most
 * a window for a fresh read and then throws StateUnavailableError: the exchange is refused (fail closed),
 * never minted at a stage older than the window. A change made through this replica counts at once here (the
 * next `get()` waits for a read started after it); other replicas see it within the window.
 */
export class RedisStageStore implements StageStore {
  readonly #key: string;
  readonly #windowMs: number;
  /** Parsed overrides; an entry that cannot be read is kept as `unreadable` and refuses that agent only. */
  #mirror = new Map<string, StageOverride | 'unreadable'>();
  /** When the last successful read started (performance.now()). */
  #freshAsOf = Number.NEGATIVE_INFINITY;
  /** A read must have started after this to answer (set by a write through this replica). */
  #notBefore = Number.NEGATIVE_INFINITY;
  #lastAsked = Number.NEGATIVE_INFINITY;
  #running: { readonly startedAt: number; readonly done: Promise<boolean> } | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly redis: RedisClient, prefix = 'broker:', windowMs = DEFAULT_PROPAGATION_WINDOW_MS) {
    this.#key = `${prefix}{guardrails}:stages`;
    this.#windowMs = windowMs;
  }

  async get(agent: string): Promise<StageOverride | null> {
    const now = performance.now();
    this.#lastAsked = now;
    this.#timer ??= this.#startTimer();
    const since = Math.max(now - this.#windowMs, this.#notBefore);
    if (this.#freshAsOf < since) await this.#syncedSince(since, now + this.#windowMs);
    const entry = this.#mirror.get(agent);
    if (entry === 'unreadable') throw new StateUnavailableError('stored stage override is not readable');
    return entry ?? null;
  }

  async set(agent: string, override: StageOverride | null): Promise<void> {
    try {
      if (override) await this.redis.hset(this.#key, agent, JSON.stringify(override));
      else await this.redis.hdel(this.#key, agent);
    } catch (cause) {
      throw new StateUnavailableError('redis stage write failed', { cause });
    }
    this.#notBefore = performance.now();
  }

  /** Stops the background reads (they also stop by themselves when no exchange asks). */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #startTimer(): NodeJS.Timeout {
    const timer = setInterval(() => {
      if (performance.now() - this.#lastAsked > IDLE_WINDOWS * this.#windowMs) this.close();
      else if (!this.#running) void this.#read();
    }, Math.max(10, Math.floor(this.#windowMs / POLL_DIVISOR)));
    timer.unref();
    return timer;
  }

  async #syncedSince(since: number, deadline: number): Promise<void> {
    while (this.#freshAsOf < since) {
      const read = this.#running && this.#running.startedAt >= since ? this.#running.done : this.#read();
      const ok = await within(read, deadline - performance.now());
      if (ok !== true) throw new StateUnavailableError(ok === false ? 'redis stage read failed' : `stage overrides not read within ${String(this.#windowMs)} ms`);
    }
  }

  /** One read of the whole hash; concurrent callers that need a read started now share it. */
  #read(): Promise<boolean> {
    const startedAt = performance.now();
    const done = (async () => {
      try {
        const all = await this.redis.hgetall(this.#key);
        const mirror = new Map<string, StageOverride | 'unreadable'>();
        for (const [agent, raw] of Object.entries(all)) mirror.set(agent, parseOverride(raw));
        if (startedAt >= this.#freshAsOf) {
          this.#mirror = mirror;
          this.#freshAsOf = startedAt;
        }
        return true;
      } catch {
        return false;
      } finally {
        if (this.#running?.startedAt === startedAt) this.#running = undefined;
      }
    })();
    this.#running = { startedAt, done };
    return done;
  }
}

function parseOverride(raw: string): StageOverride | 'unreadable' {
  try {
    const parsed = JSON.parse(raw) as Partial<StageOverride>;
    return isStage(parsed.stage) ? parsed as StageOverride : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

const TIMED_OUT = 'timed_out';

async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => { timer = setTimeout(() => { resolve(TIMED_OUT); }, Math.max(0, ms)); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
