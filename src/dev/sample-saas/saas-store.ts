/**
 * DEVELOPMENT SAMPLE. The sample SaaS's oidc-provider storage, in memory: unlike the broker's adapter it keeps
 * what an authorization-code server needs (sessions by uid, grants, codes, refresh tokens) and revokes every
 * artifact of a grant at once (oidc-provider does so when a rotated refresh token is reused).
 */
import type { AdapterPayload } from '../../provider/oidc-provider.js';

interface Entry { readonly payload: AdapterPayload; readonly expiresAt: number | undefined }

export function saasMemoryAdapter() {
  const store = new Map<string, Entry>();
  const byGrant = new Map<string, Set<string>>();
  const live = (key: string): Entry | undefined => {
    const entry = store.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry;
  };

  return class SaasMemoryAdapter {
    constructor(readonly name: string) {}
    #key(id: string): string {
      return `${this.name}:${id}`;
    }
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const key = this.#key(id);
      store.set(key, { payload, expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined });
      if (typeof payload.grantId === 'string') {
        const keys = byGrant.get(payload.grantId) ?? new Set<string>();
        keys.add(key);
        byGrant.set(payload.grantId, keys);
      }
      return Promise.resolve();
    }
    find(id: string): Promise<AdapterPayload | undefined> {
      return Promise.resolve(live(this.#key(id))?.payload);
    }
    findByUid(uid: string): Promise<AdapterPayload | undefined> {
      for (const [key, entry] of store) {
        if (key.startsWith(`${this.name}:`) && entry.payload.uid === uid) return Promise.resolve(live(key)?.payload);
      }
      return Promise.resolve(undefined);
    }
    findByUserCode(): Promise<undefined> {
      return Promise.resolve(undefined);
    }
    consume(id: string): Promise<void> {
      const key = this.#key(id);
      const entry = live(key);
      if (entry) store.set(key, { ...entry, payload: { ...entry.payload, consumed: Math.floor(Date.now() / 1000) } });
      return Promise.resolve();
    }
    destroy(id: string): Promise<void> {
      store.delete(this.#key(id));
      return Promise.resolve();
    }
    revokeByGrantId(grantId: string): Promise<void> {
      for (const key of byGrant.get(grantId) ?? []) store.delete(key);
      byGrant.delete(grantId);
      return Promise.resolve();
    }
  };
}
