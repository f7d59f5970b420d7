/**
 * Where connections live: one entry per (user, tool, upstream) holding non-secret metadata in the clear and
 * the refresh token and cached access tokens sealed (seal.ts). The store only ever sees ciphertext.
 *
 * Writes are compare-and-set on the entry's version and, during a refresh, on the refresh lease still
 * being held (fencing): a replica whose lease expired cannot overwrite what the next holder wrote.
 */
import { createHash } from 'node:crypto';

export interface ConnectionId {
  /** The user (`sub` of the broker token / the signed-in person). */
  readonly user: string;
  readonly tool: string;
  /** The SaaS authorization server's issuer identifier. */
  readonly upstream: string;
}

/** One connection as made at one time. */
export interface ConnectionUse extends ConnectionId {
  readonly connectedAtMs: number;
}

/** What is stored in the clear: nothing here is a credential. */
export interface ConnectionMeta extends ConnectionId {
  /** The SaaS scopes the user granted when connecting (a refresh never asks for more). */
  readonly scopes: readonly string[];
  readonly connectedAtMs: number;
  readonly refreshedAtMs?: number;
  /** The vault key the sealed part is under (rotation reports which keys are still in use). */
  readonly kid: string;
}

export interface StoredConnection {
  /** Incremented on every write; compare-and-set compares it. */
  readonly version: number;
  readonly meta: ConnectionMeta;
  readonly sealed: string;
}

/** A refresh lease: only its holder refreshes an entry; `fence` is a number no earlier lease had. */
export interface Lease { readonly fence: string }

export interface VaultStore {
  readonly kind: 'memory' | 'redis';
  get(id: ConnectionId): Promise<StoredConnection | undefined>;
  /**
   * Writes `next` iff the stored version is `expectedVersion` (undefined: no entry) and, given a lease, the
   * lease is still held. Returns false otherwise, writing nothing.
   */
  put(next: StoredConnection, expectedVersion: number | undefined, lease?: Lease): Promise<boolean>;
  /** Removes the entry; returns what was there. */
  delete(id: ConnectionId): Promise<StoredConnection | undefined>;
  listUser(user: string): Promise<StoredConnection[]>;
  listAll(): Promise<ConnectionId[]>;
  /**
   * Remembers that an agent's exchange used this connection (revoking the agent deletes it). The connection
   * is named with when it was made: a later connection of the same user and tool was not used by the agent.
   */
  noteAgent(id: ConnectionUse, agent: string): Promise<void>;
  listAgent(agent: string): Promise<ConnectionUse[]>;
  /** A lease for `ttlMs`, or undefined when another holds one. */
  lock(id: ConnectionId, ttlMs: number): Promise<Lease | undefined>;
  unlock(id: ConnectionId, lease: Lease): Promise<void>;
  /** A consent in progress (sealed), readable once. */
  putPending(state: string, sealed: string, ttlMs: number): Promise<void>;
  takePending(state: string): Promise<string | undefined>;
}

/** A stable, opaque name for an entry: the parts may hold any character. */
export function connectionKey(id: ConnectionId): string {
  return createHash('sha256').update(JSON.stringify([id.user, id.tool, id.upstream])).digest('base64url');
}

export function userKey(user: string): string {
  return createHash('sha256').update(user).digest('base64url');
}

export function sameConnection(a: ConnectionId, b: ConnectionId): boolean {
  return a.user === b.user && a.tool === b.tool && a.upstream === b.upstream;
}

const META_FIELDS = ['user', 'tool', 'upstream', 'kid'] as const;

/** A stored meta document, checked: an entry that cannot be read is reported, never guessed at. */
export function parseMeta(raw: string): ConnectionMeta | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const m = doc as Record<string, unknown>;
  if (!META_FIELDS.every((f) => typeof m[f] === 'string')) return undefined;
  if (!Array.isArray(m.scopes) || !m.scopes.every((s) => typeof s === 'string')) return undefined;
  if (typeof m.connectedAtMs !== 'number') return undefined;
  return {
    user: m.user as string, tool: m.tool as string, upstream: m.upstream as string, kid: m.kid as string,
    scopes: m.scopes, connectedAtMs: m.connectedAtMs,
    ...(typeof m.refreshedAtMs === 'number' ? { refreshedAtMs: m.refreshedAtMs } : {}),
  };
}
