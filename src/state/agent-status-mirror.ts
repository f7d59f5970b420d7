/**
 * A replica's in-memory mirror of agent status overrides, fed by the shared state's event feed, so the
 * token endpoint does not read Redis for them on every exchange.
 *
 * - A background poll reads the feed every `windowMs / 10` (100 ms for the default 1 s window). After a
 *   failure, after falling behind the window, and every `resyncMs`, it re-reads a full snapshot instead
 *   (the feed is capped, and a Redis restarted without persistence starts a new one).
 * - `recent()` answers from memory while the last successful poll *started* less than `windowMs` ago.
 *   Otherwise it waits (at most `windowMs`) for a fresh poll; if none succeeds it throws
 *   StateUnavailableError: the broker fails closed rather than trust stale data.
 * - `latest()` waits for a poll that started after the call, so it sees every change committed before the
 *   call. Concurrent callers share one poll: one XRANGE per round trip per replica, whatever the request
 *   rate. This is the after-mint check; a mirror read alone would let a suspension committed within the
 *   last poll interval miss a request whose token is issued in a later second than the revocation rule.
 */
import { StateUnavailableError, type AgentStatusOverride, type SharedState, type StateEvent } from './shared-state.js';
import type { AgentStatusView } from './agent-status.js';

export interface AgentStatusMirrorOptions {
  /** The propagation window: the oldest view `recent()` may answer from. */
  readonly windowMs: number;
  /** Background poll period (default windowMs / 10, at least 10 ms). */
  readonly pollIntervalMs?: number;
  /** Full re-read period (default 30 s). */
  readonly resyncMs?: number;
  /**
   * Told for each agent status change applied from the feed: how long after its commit (the Redis stream id
   * carries the commit time in ms) this replica applied it, the propagation lag (metrics).
   */
  readonly onApplied?: (lagMs: number) => void;
  /** Told when a poll of the shared state fails (metrics). */
  readonly onPollError?: (err: unknown) => void;
}

const PAGE = 1000;

interface Poll {
  readonly startedAt: number;
  readonly done: Promise<void>;
  /**
   * Whether it succeeded, or TIMED_OUT a window after it started: one timer per poll, shared by every caller
   * that waits on it (not one timer and race per exchange).
   */
  settled?: Promise<boolean | typeof TIMED_OUT>;
}

const TIMED_OUT = Symbol('timed out');

async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => { resolve(TIMED_OUT); }, Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class AgentStatusMirror implements AgentStatusView {
  readonly #state: SharedState;
  readonly #windowMs: number;
  readonly #resyncMs: number;
  readonly #onApplied: ((lagMs: number) => void) | undefined;
  readonly #onPollError: ((err: unknown) => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  #overrides = new Map<string, AgentStatusOverride>();
  #cursor: string | undefined;
  /** When the last successful poll started (performance.now()); -Infinity before the first. */
  #freshAsOf = Number.NEGATIVE_INFINITY;
  #snapshotAt = Number.NEGATIVE_INFINITY;
  #needsSnapshot = true;
  #running: Poll | undefined;

  constructor(state: SharedState, opts: AgentStatusMirrorOptions) {
    this.#state = state;
    this.#windowMs = opts.windowMs;
    this.#resyncMs = opts.resyncMs ?? 30_000;
    this.#onApplied = opts.onApplied;
    this.#onPollError = opts.onPollError;
    this.#timer = setInterval(() => {
      if (!this.#running) this.#startPoll();
    }, opts.pollIntervalMs ?? Math.max(10, Math.floor(opts.windowMs / 10)));
    this.#timer.unref();
    this.#startPoll();
  }

  /** How old the mirror is, in ms (Infinity before the first successful poll). */
  get ageMs(): number {
    return performance.now() - this.#freshAsOf;
  }

  async recent(clientId: string): Promise<AgentStatusOverride | null> {
    await this.confirm();
    return this.#overrides.get(clientId) ?? null;
  }

  async confirm(): Promise<void> {
    if (this.ageMs > this.#windowMs) await this.#syncedSince(performance.now() - this.#windowMs);
  }

  async latest(clientId: string): Promise<AgentStatusOverride | null> {
    await this.#syncedSince(performance.now());
    return this.#overrides.get(clientId) ?? null;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** Waits until a poll that started at or after `since` has succeeded; bounded by the window. */
  async #syncedSince(since: number): Promise<void> {
    const deadline = performance.now() + this.#windowMs;
    while (this.#freshAsOf < since) {
      const poll = this.#running ?? this.#startPoll();
      poll.settled ??= within(poll.done.then(() => true, () => false), poll.startedAt + this.#windowMs - performance.now());
      const ok = await poll.settled;
      // A poll still unanswered a window after it started, or polls that kept ending before `since` for a
      // whole window: the state is not answering in time, and the caller fails closed.
      if (ok === TIMED_OUT) throw new StateUnavailableError(`agent status feed not confirmed within ${String(this.#windowMs)} ms`);
      if (!ok && poll.startedAt >= since) throw new StateUnavailableError('agent status feed cannot be read');
      if (this.#freshAsOf < since && performance.now() > deadline) throw new StateUnavailableError(`agent status feed not confirmed within ${String(this.#windowMs)} ms`);
    }
  }

  #startPoll(): Poll {
    const startedAt = performance.now();
    const done = this.#poll(startedAt).finally(() => {
      if (this.#running === poll) this.#running = undefined;
    });
    const poll: Poll = { startedAt, done };
    done.catch(() => undefined);
    this.#running = poll;
    return poll;
  }

  async #poll(startedAt: number): Promise<void> {
    const behind = startedAt - this.#freshAsOf > this.#windowMs;
    try {
      if (this.#needsSnapshot || behind || startedAt - this.#snapshotAt > this.#resyncMs) {
        const snapshot = await this.#state.agentStatusSnapshot();
        this.#overrides = new Map(snapshot.overrides);
        this.#cursor = snapshot.cursor;
        this.#snapshotAt = startedAt;
        this.#needsSnapshot = false;
      } else {
        for (;;) {
          const events = await this.#state.eventsSince(this.#cursor, PAGE);
          for (const event of events) this.#apply(event);
          if (events.length < PAGE) break;
        }
      }
      this.#freshAsOf = Math.max(this.#freshAsOf, startedAt);
    } catch (err) {
      this.#needsSnapshot = true;
      this.#onPollError?.(err);
      throw err;
    }
  }

  #apply(event: StateEvent): void {
    this.#cursor = event.cursor;
    if (event.type !== 'agent_status' || !event.agent) return;
    if (this.#onApplied) {
      const committedAt = Number(event.cursor.split('-', 1)[0]);
      if (event.cursor.includes('-') && Number.isFinite(committedAt)) this.#onApplied(Math.max(0, Date.now() - committedAt));
    }
    if (event.agent.override) this.#overrides.set(event.agent.clientId, event.agent.override);
    else this.#overrides.delete(event.agent.clientId);
  }
}
