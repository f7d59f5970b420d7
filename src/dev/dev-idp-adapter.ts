/**
 * DEVELOPMENT ONLY. Storage for the development identity provider's browser flows (sessions, interactions,
 * authorization codes, grants): in memory, with the lookups the authorization code flow needs that the
 * broker's own adapter does not (by session uid, and revoking everything of a grant).
 */
import type { AdapterPayload, Configuration } from '../provider/oidc-provider.js';

interface Entry { readonly payload: AdapterPayload; readonly expiresAt: number | undefined }

export function devIdpAdapter(): NonNullable<Configuration['adapter']> {
  const stores = new Map<string, Map<string, Entry>>();
  return class DevIdpAdapter {
    readonly #store: Map<string, Entry>;

    constructor(name: string) {
      const store = stores.get(name) ?? new Map<string, Entry>();
      stores.set(name, store);
      this.#store = store;
    }

    #live(id: string): Entry | undefined {
      const entry = this.#store.get(id);
      if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
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

    findByUid(uid: string): Promise<AdapterPayload | undefined> {
      for (const [id, entry] of this.#store) if (entry.payload.uid === uid) return Promise.resolve(this.#live(id)?.payload);
      return Promise.resolve(undefined);
    }

    findByUserCode(): Promise<undefined> {
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

    revokeByGrantId(grantId: string): Promise<void> {
      for (const store of stores.values()) {
        for (const [id, entry] of store) if (entry.payload.grantId === grantId) store.delete(id);
      }
      return Promise.resolve();
    }
  };
}
