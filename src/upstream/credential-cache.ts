/**
 * Upstream credentials cached per (user, tool, upstream scopes), in this process only (a credential is never
 * written to shared state). An entry is served until shortly before the credential expires, and only after
 * the onward exchange has read the revocation rules that could cover it (the presented token's and the
 * entry's own agents, user and tool) from the shared state: a revocation of the agent, the user or the tool
 * drops the entry on its next use, within the revocation's propagation window (STANDARDS 31).
 */
import type { Revocation } from '../state/shared-state.js';
import type { UpstreamCredential } from './connector.js';

export interface CachedCredential {
  readonly credential: UpstreamCredential;
  readonly obtainedAtMs: number;
  readonly user: string;
  readonly tool: string;
  /** The agents (and tool identity) of the chain it was obtained for. */
  readonly agents: readonly string[];
}

export interface CredentialCacheOptions {
  /** Entries are not served within this much of their expiry (default 30 s). */
  readonly refreshBeforeMs?: number;
  /** Bound on entries (oldest evicted first; default 10,000). */
  readonly maxEntries?: number;
}

export function cacheKey(user: string, tool: string, upstreamScopes: readonly string[]): string {
  return JSON.stringify([user, tool, [...upstreamScopes].sort()]);
}

/** Whether a revocation rule covers a cached entry: it was obtained before the rule's cut-off, for a covered party. Pure. */
export function entryRevokedBy(entry: CachedCredential, rule: Revocation): boolean {
  if (Math.floor(entry.obtainedAtMs / 1000) > rule.issuedBefore) return false;
  if (rule.kind === 'agent') return entry.agents.includes(rule.value);
  if (rule.kind === 'user') return entry.user === rule.value;
  if (rule.kind === 'tool') return entry.tool === rule.value;
  return false;
}

/** The revocation rule ids that could cover an entry (see shared-state.ts candidateRuleIds). */
export function entryRuleIds(entry: CachedCredential): string[] {
  return [...entry.agents.map((a) => `agent:${a}`), `user:${entry.user}`, `tool:${entry.tool}`];
}

export class UpstreamCredentialCache {
  readonly #entries = new Map<string, CachedCredential>();
  readonly #refreshBeforeMs: number;
  readonly #maxEntries: number;

  constructor(opts: CredentialCacheOptions = {}) {
    this.#refreshBeforeMs = opts.refreshBeforeMs ?? 30_000;
    this.#maxEntries = opts.maxEntries ?? 10_000;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, nowMs: number): CachedCredential | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.credential.expiresAtMs - this.#refreshBeforeMs <= nowMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, entry: CachedCredential): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops every entry the rule covers (called for each rule the onward exchange sees). */
  dropRevoked(rule: Revocation): number {
    let dropped = 0;
    for (const [key, entry] of this.#entries) {
      if (entryRevokedBy(entry, rule)) {
        this.#entries.delete(key);
        dropped += 1;
      }
    }
    return dropped;
  }
}
