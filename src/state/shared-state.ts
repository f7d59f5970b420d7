/**
 * State every broker replica must agree on: agent status overrides (suspended / revoked by a person or
 * by the kill switch) and token revocations. In memory for the embedded default, in Redis in production.
 * Any method may reject with StateUnavailableError; callers that would mint a token then fail closed.
 */

export type AgentOverrideStatus = 'suspended' | 'revoked';

export interface AgentStatusOverride {
  readonly status: AgentOverrideStatus;
  readonly reason: string;
  /** Who: an admin key id, or `kill-switch:<trigger>`. */
  readonly by: string;
  /** Epoch seconds. */
  readonly at: number;
}

export const REVOCATION_KINDS = ['agent', 'user', 'tool', 'token'] as const;
export type RevocationKind = (typeof REVOCATION_KINDS)[number];

/**
 * A revocation rule: every broker token matching `kind`/`value` and issued at or before `issuedBefore`
 * is revoked (for `token`, `value` is the jti). Matching keys: agent -> client_id, user -> sub, tool -> tool id.
 */
export interface Revocation {
  readonly id: string;
  readonly kind: RevocationKind;
  readonly value: string;
  readonly issuedBefore: number;
  readonly reason: string;
  readonly by: string;
  readonly at: number;
}

export interface StateEvent {
  /** Monotonic, resumable position in the feed. */
  readonly cursor: string;
  readonly type: 'revocation' | 'agent_status';
  readonly revocation?: Revocation;
  readonly agent?: { readonly clientId: string; readonly override: AgentStatusOverride | null };
}

/** Every agent override at one instant, and the feed position they reflect (resume the feed after it). */
export interface AgentStatusSnapshot {
  readonly overrides: ReadonlyMap<string, AgentStatusOverride>;
  /** The last event in the feed when the snapshot was taken; undefined if the feed is empty. */
  readonly cursor: string | undefined;
}

export interface SharedState {
  readonly kind: 'memory' | 'redis';
  agentOverride(clientId: string): Promise<AgentStatusOverride | null>;
  /** All overrides and the feed position, read atomically (a replica's mirror starts from this). */
  agentStatusSnapshot(): Promise<AgentStatusSnapshot>;
  setAgentOverride(clientId: string, override: AgentStatusOverride | null): Promise<void>;
  addRevocation(revocation: Revocation): Promise<void>;
  listRevocations(): Promise<Revocation[]>;
  /** Events after `cursor` (all retained events when undefined), oldest first. */
  eventsSince(cursor: string | undefined, limit?: number): Promise<StateEvent[]>;
  /**
   * Counts one event under `key` and returns the sliding-window count (the current fixed window plus the
   * previous one weighted by how much of it still overlaps), shared by every replica.
   */
  hit(key: string, windowMs: number, nowMs: number): Promise<number>;
  /** Adds `member` to a per-window set under `key` and returns how many distinct members the window holds. */
  addDistinct(key: string, member: string, windowMs: number, nowMs: number): Promise<number>;
  /**
   * Claims `key` for `ttlMs`: true for the first claim on every replica, false while an earlier claim
   * lives (one-time values such as DPoP proof `jti`s). Atomic across replicas.
   */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  /**
   * Resolves once the writes this client made so far are held by as many Redis replicas as configured
   * (`redis.replica_acks`); rejects with ReplicationUnconfirmedError when fewer acknowledged in time. A no-op
   * without that setting and in memory.
   */
  confirmReplicated(what: string): Promise<void>;
  /** Resolves when the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class StateUnavailableError extends Error {
  override readonly name: string = 'StateUnavailableError';
}

/** A change the Redis master took but fewer replicas than required acknowledged in time (redis.replica_acks). */
export class ReplicationUnconfirmedError extends StateUnavailableError {
  override readonly name = 'ReplicationUnconfirmedError';
}

/** Whether a broker token's claims fall under a revocation rule. Pure. */
export function isRevokedBy(
  claims: { readonly jti?: unknown; readonly client_id?: unknown; readonly sub?: unknown; readonly tool?: unknown; readonly iat?: unknown },
  rule: Revocation,
): boolean {
  const iat = typeof claims.iat === 'number' ? claims.iat : Number.NEGATIVE_INFINITY;
  if (rule.kind === 'token') return claims.jti === rule.value;
  if (iat > rule.issuedBefore) return false;
  if (rule.kind === 'agent') return claims.client_id === rule.value;
  if (rule.kind === 'user') return claims.sub === rule.value;
  return claims.tool === rule.value;
}

/** The sliding-window estimate from two fixed windows. */
export function slidingCount(current: number, previous: number, windowMs: number, nowMs: number): number {
  const elapsed = (nowMs % windowMs) / windowMs;
  return current + previous * (1 - elapsed);
}
