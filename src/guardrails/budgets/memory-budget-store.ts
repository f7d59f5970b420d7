/** Budget counters in this process only: the development default (a single broker). */
import { counterId, type BudgetCounter, type ReserveResult } from './budget-plan.js';
import { evaluate, type BudgetStore } from './budget-store.js';

interface Entry { value: number; expiresAtMs: number }

export class MemoryBudgetStore implements BudgetStore {
  readonly kind = 'memory' as const;
  readonly #used = new Map<string, Entry>();
  readonly #extra = new Map<string, Entry>();
  readonly #once = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  #get(map: Map<string, Entry>, key: string): number {
    const entry = map.get(key);
    if (!entry) return 0;
    if (entry.expiresAtMs <= this.now()) {
      map.delete(key);
      return 0;
    }
    return entry.value;
  }

  #key(agent: string, counter: BudgetCounter): string {
    return `${agent}\u0000${counterId(counter)}`;
  }

  #read(agent: string, counters: readonly BudgetCounter[]): ReserveResult {
    const keys = counters.map((c) => this.#key(agent, c));
    return evaluate(counters, keys.map((k) => this.#get(this.#used, k)), keys.map((k) => this.#get(this.#extra, k)));
  }

  // Synchronous between the read and the write: no other request can interleave in one process.
  reserve(agent: string, counters: readonly BudgetCounter[]): Promise<ReserveResult> {
    const result = this.#read(agent, counters);
    if (result.ok) {
      for (const { counter, used } of result.counters) {
        this.#used.set(this.#key(agent, counter), { value: used + counter.add, expiresAtMs: counter.windowEndMs });
      }
    }
    return Promise.resolve(result);
  }

  peek(agent: string, counters: readonly BudgetCounter[]): Promise<ReserveResult> {
    return Promise.resolve(this.#read(agent, counters));
  }

  reset(agent: string, counter: BudgetCounter): Promise<void> {
    this.#used.delete(this.#key(agent, counter));
    return Promise.resolve();
  }

  raise(agent: string, counter: BudgetCounter, extra: number): Promise<number> {
    const key = this.#key(agent, counter);
    const total = this.#get(this.#extra, key) + extra;
    this.#extra.set(key, { value: total, expiresAtMs: counter.windowEndMs });
    return Promise.resolve(total);
  }

  once(key: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const until = this.#once.get(key);
    if (until !== undefined && until > now) return Promise.resolve(false);
    this.#once.set(key, now + ttlMs);
    return Promise.resolve(true);
  }
}
