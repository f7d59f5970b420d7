/** The vault store in process memory: the development default (one replica; entries die with it). */
import { randomUUID } from 'node:crypto';
import { connectionKey, type ConnectionId, type ConnectionUse, type Lease, type StoredConnection, type VaultStore } from './vault-store.js';

export class MemoryVaultStore implements VaultStore {
  readonly kind = 'memory' as const;
  readonly #entries = new Map<string, StoredConnection>();
  readonly #agents = new Map<string, Map<string, ConnectionUse>>();
  readonly #locks = new Map<string, { fence: string; untilMs: number }>();
  readonly #pending = new Map<string, { sealed: string; untilMs: number }>();
  #fence = 0;

  constructor(private readonly now: () => number = Date.now) {}

  get(id: ConnectionId): Promise<StoredConnection | undefined> {
    return Promise.resolve(this.#entries.get(connectionKey(id)));
  }

  put(next: StoredConnection, expectedVersion: number | undefined, lease?: Lease): Promise<boolean> {
    const key = connectionKey(next.meta);
    if (lease && this.#held(key)?.fence !== lease.fence) return Promise.resolve(false);
    if (this.#entries.get(key)?.version !== expectedVersion) return Promise.resolve(false);
    this.#entries.set(key, next);
    return Promise.resolve(true);
  }

  delete(id: ConnectionId): Promise<StoredConnection | undefined> {
    const key = connectionKey(id);
    const was = this.#entries.get(key);
    this.#entries.delete(key);
    return Promise.resolve(was);
  }

  listUser(user: string): Promise<StoredConnection[]> {
    return Promise.resolve([...this.#entries.values()].filter((e) => e.meta.user === user));
  }

  listAll(): Promise<ConnectionId[]> {
    return Promise.resolve([...this.#entries.values()].map((e) => e.meta));
  }

  noteAgent(id: ConnectionUse, agent: string): Promise<void> {
    const ids = this.#agents.get(agent) ?? new Map<string, ConnectionUse>();
    ids.set(`${connectionKey(id)} ${String(id.connectedAtMs)}`, { user: id.user, tool: id.tool, upstream: id.upstream, connectedAtMs: id.connectedAtMs });
    this.#agents.set(agent, ids);
    return Promise.resolve();
  }

  listAgent(agent: string): Promise<ConnectionUse[]> {
    return Promise.resolve([...(this.#agents.get(agent)?.values() ?? [])]);
  }

  #held(key: string): { fence: string; untilMs: number } | undefined {
    const lock = this.#locks.get(key);
    if (lock && lock.untilMs <= this.now()) {
      this.#locks.delete(key);
      return undefined;
    }
    return lock;
  }

  lock(id: ConnectionId, ttlMs: number): Promise<Lease | undefined> {
    const key = connectionKey(id);
    if (this.#held(key)) return Promise.resolve(undefined);
    this.#fence += 1;
    const fence = `${String(this.#fence)}:${randomUUID()}`;
    this.#locks.set(key, { fence, untilMs: this.now() + ttlMs });
    return Promise.resolve({ fence });
  }

  unlock(id: ConnectionId, lease: Lease): Promise<void> {
    const key = connectionKey(id);
    if (this.#locks.get(key)?.fence === lease.fence) this.#locks.delete(key);
    return Promise.resolve();
  }

  putPending(state: string, sealed: string, ttlMs: number): Promise<void> {
    // Consents never completed expire here as in Redis: swept when new ones start.
    const nowMs = this.now();
    for (const [key, pending] of this.#pending) if (pending.untilMs <= nowMs) this.#pending.delete(key);
    this.#pending.set(state, { sealed, untilMs: nowMs + ttlMs });
    return Promise.resolve();
  }

  takePending(state: string): Promise<string | undefined> {
    const pending = this.#pending.get(state);
    this.#pending.delete(state);
    return Promise.resolve(pending && pending.untilMs > this.now() ? pending.sealed : undefined);
  }
}
