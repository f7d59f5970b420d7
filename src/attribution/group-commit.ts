/**
 * Group commit, shared by the durable sinks. Items submitted in the same event-loop turn, while a persist is
 * in flight, or within the optional batching window form the next batch; `persist` makes one batch durable
 * in one step (one synchronous write, one Lua script). A persist starts in the check phase of the turn, not
 * at the first submit: with a fast disk the first request of a turn would otherwise be synced alone.
 * Every `submit` resolves only after the persist holding its item has returned, and a persist that throws
 * rejects every item of that batch (and no other) with what it threw; the next batch gets a fresh persist,
 * so a sink recovers as soon as its store does. Persists never overlap and see the items in submission order.
 *
 * Chain state belongs to the sink: `persist` must advance it only once the batch is durable (or restore it
 * on failure), since a rejected item takes no `seq`.
 */

/**
 * Told after each persist: how many items it held, how long it took, whether it succeeded (metrics:
 * observability/metrics/broker-metrics.ts). Must not throw; it runs on the commit path.
 */
export type CommitObserver = (size: number, durationMs: number, ok: boolean) => void;

/** Makes `batch` durable. `forced` is true when `force()` asked for this persist (the batch may then be empty). */
export type Persist<T> = (batch: readonly T[], forced: boolean) => Promise<void>;

export interface GroupCommitOptions {
  /**
   * Wait this long before each persist so more items can join the batch (fewer syncs, more latency per item).
   * Default 0: persist at once; items arriving during a persist still form the next batch.
   */
  readonly windowMs?: number;
  /** Most items per persist (default: no limit). The rest wait for the next one. */
  readonly maxBatch?: number;
  /** Told after each persist (batch size, duration, success). */
  readonly onCommit?: CommitObserver;
}

interface Waiter<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class GroupCommit<T> {
  readonly #persist: Persist<T>;
  readonly #windowMs: number;
  readonly #maxBatch: number;
  readonly #onCommit: CommitObserver | undefined;
  #queue: Waiter<T>[] = [];
  #forced = false;
  #running: Promise<void> | undefined;

  constructor(persist: Persist<T>, options: GroupCommitOptions = {}) {
    const windowMs = options.windowMs ?? 0;
    const maxBatch = options.maxBatch ?? Number.POSITIVE_INFINITY;
    if (!(windowMs >= 0 && Number.isFinite(windowMs))) throw new RangeError(`group commit windowMs must be a finite number >= 0, got ${String(windowMs)}`);
    if (!(maxBatch >= 1)) throw new RangeError(`group commit maxBatch must be at least 1, got ${String(maxBatch)}`);
    this.#persist = persist;
    this.#windowMs = windowMs;
    this.#maxBatch = maxBatch;
    this.#onCommit = options.onCommit;
  }

  /** Items waiting for a persist (not counting the batch in flight). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Resolves once `item` is durable; rejects with the error of the persist that held it. */
  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#kick();
    });
  }

  /** Requests one persist with `forced = true` (e.g. to write a checkpoint), even if no item is queued. */
  force(): void {
    this.#forced = true;
    this.#kick();
  }

  /** Resolves when nothing is queued or in flight (items submitted meanwhile are waited for too). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  #kick(): void {
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#queue.length > 0 || this.#forced) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#forced) {
      if (this.#queue.length < this.#maxBatch) {
        // Let every request already read in this event-loop turn join the batch (the check phase comes after
        // the poll phase that read them): one synchronous write per turn instead of per request or two.
        if (this.#windowMs > 0) await sleep(this.#windowMs);
        else await checkPhase();
      }
      const batch = this.#queue.length <= this.#maxBatch ? this.#queue : this.#queue.slice(0, this.#maxBatch);
      this.#queue = batch === this.#queue ? [] : this.#queue.slice(this.#maxBatch);
      const forced = this.#forced;
      this.#forced = false;
      const started = this.#onCommit ? performance.now() : 0;
      try {
        await this.#persist(batch.map((w) => w.item), forced);
      } catch (cause) {
        this.#onCommit?.(batch.length, performance.now() - started, false);
        const error = cause instanceof Error ? cause : new Error(String(cause));
        for (const waiter of batch) waiter.reject(error);
        continue;
      }
      this.#onCommit?.(batch.length, performance.now() - started, true);
      for (const waiter of batch) waiter.resolve();
    }
  }
}

function checkPhase(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
