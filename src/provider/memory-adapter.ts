/**
 * oidc-provider storage for the embedded default (in memory, one process). The broker itself keeps no
 * tokens in it: oidc-provider uses it for the replay cache of `private_key_jwt` client assertions
 * (`ReplayDetection`). Entries expire exactly when oidc-provider says; unlike an LRU, nothing is evicted
 * early, so an assertion can never be replayed because the cache was full.
 */
import type { AdapterPayload } from './oidc-provider.js';

interface Entry { readonly payload: AdapterPayload; readonly expiresAt: number | undefined }

const stores = new Map<string, Map<string, Entry>>();
const SWEEP_EVERY_MS = 30_000;

function sweep(store: Map<string, Entry>, now: number): void {
  for (const [id, entry] of store) {
    if (entry.expiresAt !== undefined && entry.expiresAt <= now) store.delete(id);
  }
}

export class MemoryAdapter {
  readonly #store: Map<string, Entry>;
  #lastSweep = Date.now();

  constructor(readonly name: string) {
    let store = stores.get(name);
    if (!store) {
      store = new Map();
      stores.set(name, store);
    }
    this.#store = store;
  }

  #live(id: string): Entry | undefined {
    const now = Date.now();
    if (now - this.#lastSweep > SWEEP_EVERY_MS) {
      this.#lastSweep = now;
      sweep(this.#store, now);
    }
    const entry = this.#store.get(id);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= now) {
      this.#store.delete(id);
      return undefined;
    }
    return entry;
  }

  upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    this.#store.set(id, { payload, expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined });
    return Promise.resolve();
  }

  find(id: string): Promise<AdapterPayload | undefined> {
    return Promise.resolve(this.#live(id)?.payload);
  }

  findByUserCode(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  findByUid(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  consume(id: string): Promise<void> {
    const entry = this.#live(id);
    if (entry) this.#store.set(id, { ...entry, payload: { ...entry.payload, consumed: Math.floor(Date.now() / 1000) } });
    return Promise.resolve();
  }

  destroy(id: string): Promise<void> {
    this.#store.delete(id);
    return Promise.resolve();
  }

  revokeByGrantId(): Promise<void> {
    return Promise.resolve();
  }
}

/** A fresh, isolated adapter class (each provider instance gets its own storage namespace). */
export function isolatedMemoryAdapter(namespace: string): new (name: string) => MemoryAdapter {
  return class extends MemoryAdapter {
    constructor(name: string) {
      super(`${namespace}:${name}`);
    }
  };
}
