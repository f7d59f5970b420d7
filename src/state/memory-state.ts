/** SharedState for a single process (the embedded default). */
import { randomBytes } from 'node:crypto';
import { compareCursors, slidingCount, type AgentStatusOverride, type AgentStatusSnapshot, type FeedPage, type RateWindow, type Revocation, type RevocationSnapshot, type SharedState, type StateEvent } from './shared-state.js';
import { mergeRules, ruleId } from '../revocation/rules.js';

const MAX_EVENTS = 10_000;
/** Above this many live claims, expired ones are swept before the next claim. */
const CLAIM_SWEEP_THRESHOLD = 10_000;

export class MemoryState implements SharedState {
  readonly kind = 'memory' as const;
  readonly #overrides = new Map<string, AgentStatusOverride>();
  readonly #revocations = new Map<string, Revocation>();
  readonly #events: StateEvent[] = [];
  #seq = 0;
  readonly #counters = new Map<string, { bucket: number; current: number; previous: number }>();
  readonly #sets = new Map<string, { bucket: number; members: Set<string> }>();
  readonly #claims = new Map<string, number>();
  readonly #clock: () => number;
  readonly #feedKey = randomBytes(32);
  #nextExpiry = Number.POSITIVE_INFINITY;

  constructor(opts: { readonly now?: () => number } = {}) {
    this.#clock = opts.now ?? Date.now;
  }

  #emit(event: Omit<StateEvent, 'cursor'>): void {
    this.#seq += 1;
    this.#events.push({ ...event, cursor: String(this.#seq) });
    if (this.#events.length > MAX_EVENTS) this.#events.shift();
  }

  agentOverride(clientId: string): Promise<AgentStatusOverride | null> {
    return Promise.resolve(this.#overrides.get(clientId) ?? null);
  }

  agentStatusSnapshot(): Promise<AgentStatusSnapshot> {
    return Promise.resolve({ overrides: new Map(this.#overrides), cursor: this.#events.at(-1)?.cursor });
  }

  setAgentOverride(clientId: string, override: AgentStatusOverride | null): Promise<void> {
    if (override) this.#overrides.set(clientId, override);
    else this.#overrides.delete(clientId);
    this.#emit({ type: 'agent_status', agent: { clientId, override } });
    return Promise.resolve();
  }

  addRevocation(revocation: Revocation): Promise<Revocation> {
    const nowSeconds = Math.floor(this.#clock() / 1000);
    // Scan only once something has expired (the earliest expiry is tracked), not on every write.
    if (this.#nextExpiry < nowSeconds) {
      this.#nextExpiry = Number.POSITIVE_INFINITY;
      for (const [id, rule] of this.#revocations) {
        if (rule.expiresAt < nowSeconds) this.#revocations.delete(id);
        else this.#nextExpiry = Math.min(this.#nextExpiry, rule.expiresAt);
      }
    }
    const id = ruleId(revocation.kind, revocation.value);
    const stored = mergeRules(this.#revocations.get(id), { ...revocation, id });
    this.#revocations.set(id, stored);
    this.#nextExpiry = Math.min(this.#nextExpiry, stored.expiresAt);
    this.#emit({ type: 'revocation', revocation: stored });
    return Promise.resolve(stored);
  }

  listRevocations(): Promise<Revocation[]> {
    return Promise.resolve([...this.#revocations.values()]);
  }

  revocationsByIds(ids: readonly string[]): Promise<Revocation[]> {
    return Promise.resolve(ids.flatMap((id) => this.#revocations.get(id) ?? []));
  }

  revocationSnapshot(pageSize = 1000): Promise<RevocationSnapshot> {
    const rules = [...this.#revocations.values()];
    const cursor = this.#events.at(-1)?.cursor;
    async function* pages(): AsyncIterable<Revocation[]> {
      for (let i = 0; i < rules.length; i += pageSize) yield await Promise.resolve(rules.slice(i, i + pageSize));
    }
    return Promise.resolve({ cursor, pages: pages() });
  }

  feedSince(cursor: string | undefined, limit = 1000): Promise<FeedPage> {
    if (cursor === undefined) return Promise.resolve({ events: [], truncated: false });
    if (!/^\d{1,15}$/u.test(cursor)) return Promise.resolve({ events: [], truncated: true });
    const first = this.#events[0];
    // The event right after the cursor is gone when the oldest retained one is newer than that.
    const truncated = first !== undefined && compareCursors(first.cursor, String(Number(cursor) + 1)) > 0;
    return this.eventsSince(cursor, limit).then((events) => ({ events, truncated }));
  }

  feedPosition(): Promise<string | undefined> {
    return Promise.resolve(this.#events.at(-1)?.cursor);
  }

  feedKey(): Promise<Buffer> {
    return Promise.resolve(this.#feedKey);
  }

  eventsSince(cursor: string | undefined, limit = 1000): Promise<StateEvent[]> {
    const after = cursor === undefined ? 0 : Number(cursor);
    return Promise.resolve(this.#events.filter((e) => Number(e.cursor) > after).slice(0, limit));
  }

  hit(key: string, windowMs: number, nowMs: number, count = 1): Promise<number> {
    const bucket = Math.floor(nowMs / windowMs);
    const c = this.#counters.get(key);
    let next: { bucket: number; current: number; previous: number };
    if (!c || c.bucket < bucket - 1) next = { bucket, current: count, previous: 0 };
    else if (c.bucket === bucket - 1) next = { bucket, current: count, previous: c.current };
    else next = { ...c, current: c.current + count };
    this.#counters.set(key, next);
    return Promise.resolve(slidingCount(next.current, next.previous, windowMs, nowMs));
  }

  async hitGroup(group: string, windows: readonly RateWindow[], nowMs: number): Promise<number[]> {
    const counts: number[] = [];
    for (const w of windows) counts.push(await this.hit(`${group}:${w.key}`, w.windowMs, nowMs));
    return counts;
  }

  addDistinct(key: string, member: string, windowMs: number, nowMs: number): Promise<number> {
    const bucket = Math.floor(nowMs / windowMs);
    let entry = this.#sets.get(key);
    if (entry?.bucket !== bucket) {
      entry = { bucket, members: new Set() };
      this.#sets.set(key, entry);
    }
    entry.members.add(member);
    return Promise.resolve(entry.members.size);
  }

  /** One process holds everything: nothing to replicate. */
  confirmReplicated(): Promise<void> {
    return Promise.resolve();
  }

  claimOnce(key: string, ttlMs: number): Promise<boolean> {
    const now = this.#clock();
    if (this.#claims.size >= CLAIM_SWEEP_THRESHOLD) {
      for (const [k, expires] of this.#claims) if (expires <= now) this.#claims.delete(k);
    }
    const expires = this.#claims.get(key);
    if (expires !== undefined && expires > now) return Promise.resolve(false);
    this.#claims.set(key, now + ttlMs);
    return Promise.resolve(true);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
