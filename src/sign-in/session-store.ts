/**
 * Server-side sessions of signed-in people (and the short-lived pending logins before them). The cookie holds
 * only a random id; the store keys entries by the SHA-256 of that id, so whoever reads the store (a Redis
 * dump) cannot present a live session. Memory for one process (development), Redis for several replicas.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from '../state/connect-redis.js';

export interface SessionStore {
  get(kind: string, id: string): Promise<string | undefined>;
  /** Stores `value` until `ttlMs` from now. */
  set(kind: string, id: string, value: string, ttlMs: number): Promise<void>;
  /** Removes and returns the entry (a pending login is used once). */
  take(kind: string, id: string): Promise<string | undefined>;
  delete(kind: string, id: string): Promise<void>;
  close(): void;
}

export function storeKey(kind: string, id: string): string {
  return `${kind}:${createHash('sha256').update(id).digest('base64url')}`;
}

interface Entry { readonly value: string; readonly expiresAt: number }

/** One process: entries expire on read and in a periodic sweep; at most `maxEntries` (oldest dropped first). */
export class MemorySessionStore implements SessionStore {
  readonly #entries = new Map<string, Entry>();
  readonly #sweep: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now, private readonly maxEntries = 10_000) {
    this.#sweep = setInterval(() => { this.#expire(); }, 60_000);
    this.#sweep.unref();
  }

  #expire(): void {
    const t = this.now();
    for (const [k, e] of this.#entries) if (e.expiresAt <= t) this.#entries.delete(k);
  }

  get(kind: string, id: string): Promise<string | undefined> {
    const key = storeKey(kind, id);
    const e = this.#entries.get(key);
    if (!e) return Promise.resolve(undefined);
    if (e.expiresAt <= this.now()) {
      this.#entries.delete(key);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(e.value);
  }

  set(kind: string, id: string, value: string, ttlMs: number): Promise<void> {
    if (this.#entries.size >= this.maxEntries) {
      this.#expire();
      const oldest = this.#entries.keys().next();
      if (this.#entries.size >= this.maxEntries && oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(storeKey(kind, id), { value, expiresAt: this.now() + ttlMs });
    return Promise.resolve();
  }

  async take(kind: string, id: string): Promise<string | undefined> {
    const value = await this.get(kind, id);
    this.#entries.delete(storeKey(kind, id));
    return value;
  }

  delete(kind: string, id: string): Promise<void> {
    this.#entries.delete(storeKey(kind, id));
    return Promise.resolve();
  }

  close(): void {
    clearInterval(this.#sweep);
  }
}

/** Several replicas: one Redis string per entry with a PX expiry; `take` is GETDEL (used at most once). */
export class RedisSessionStore implements SessionStore {
  constructor(private readonly redis: RedisClient, private readonly prefix: string) {}

  async get(kind: string, id: string): Promise<string | undefined> {
    return (await this.redis.get(`${this.prefix}session:${storeKey(kind, id)}`)) ?? undefined;
  }

  async set(kind: string, id: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(`${this.prefix}session:${storeKey(kind, id)}`, value, 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async take(kind: string, id: string): Promise<string | undefined> {
    return (await this.redis.getdel(`${this.prefix}session:${storeKey(kind, id)}`)) ?? undefined;
  }

  async delete(kind: string, id: string): Promise<void> {
    await this.redis.del(`${this.prefix}session:${storeKey(kind, id)}`);
  }

  close(): void {
    // The connection belongs to the shared state.
  }
}
