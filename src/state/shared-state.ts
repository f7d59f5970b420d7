/**
 * State every broker replica must agree on: agent status overrides (suspended / revoked by a person or
 * by the kill switch) and token revocations. In memory for the embedded default, in Redis in production.
 * Any method may reject with StateUnavailableError; callers that would mint a token then fail closed.
 */
import { BrokerError } from '../errors/broker-errors.js';

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
 * is revoked (for `token`, `value` is the jti). Matching keys: agent -> client_id and every actor in `act`
 * (RFC 8693 §4.1: a revoked agent anywhere in a delegation chain), user -> sub, tool -> tool id.
 * There is one rule per kind and value (`id` is `<kind>:<value>`, revocation/rules.ts): storing it again
 * merges (the later `issuedBefore` and `expiresAt` win).
 */
export interface Revocation {
  readonly id: string;
  readonly kind: RevocationKind;
  readonly value: string;
  readonly issuedBefore: number;
  /** Epoch seconds after which no token the rule covers can be alive: the rule is dropped then. */
  readonly expiresAt: number;
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

/** The feed after a cursor; `truncated` when events after it were trimmed away (the reader needs a snapshot). */
export interface FeedPage {
  readonly events: StateEvent[];
  readonly truncated: boolean;
}

/** Every live rule, page by page, and the feed position to resume after (read before the first page). */
export interface RevocationSnapshot {
  readonly cursor: string | undefined;
  readonly pages: AsyncIterable<Revocation[]>;
}

export interface SharedState {
  readonly kind: 'memory' | 'redis';
  agentOverride(clientId: string): Promise<AgentStatusOverride | null>;
  /** All overrides and the feed position, read atomically (a replica's mirror starts from this). */
  agentStatusSnapshot(): Promise<AgentStatusSnapshot>;
  setAgentOverride(clientId: string, override: AgentStatusOverride | null): Promise<void>;
  /**
   * Stores the rule (merged with the rule of the same kind and value, if any; revocation/rules.ts), publishes
   * it on the feed and drops rules whose `expiresAt` has passed. Returns the rule as stored.
   */
  addRevocation(revocation: Revocation): Promise<Revocation>;
  /** Every live rule (admin listing); prefer `revocationSnapshot` where the count may be large. */
  listRevocations(): Promise<Revocation[]>;
  /** The live rules with these ids (`<kind>:<value>`), one lookup each: what introspection matches against. */
  revocationsByIds(ids: readonly string[]): Promise<Revocation[]>;
  /**
   * A snapshot of every rule, in pages of about `pageSize`, consistent with the returned cursor: every rule
   * committed before the cursor's event is in some page. A rule that cannot be parsed makes it throw.
   */
  revocationSnapshot(pageSize?: number): Promise<RevocationSnapshot>;
  /** Events after `cursor` (from the latest position when undefined: nothing), saying when some were trimmed. */
  feedSince(cursor: string | undefined, limit?: number): Promise<FeedPage>;
  /** The latest feed position (undefined when the feed is empty). */
  feedPosition(): Promise<string | undefined>;
  /**
   * A random secret shared by every replica, created on first use: the key of the hashes under which the
   * feed publishes user rules (validators get it in the snapshot; revocation/feed-rule.ts).
   */
  feedKey(): Promise<Buffer>;
  /** Events after `cursor` (all retained events when undefined), oldest first. */
  eventsSince(cursor: string | undefined, limit?: number): Promise<StateEvent[]>;
  /**
   * Counts one event (or `count` events at once) under `key` and returns the sliding-window count (the current
   * fixed window plus the previous one weighted by how much of it still overlaps), shared by every replica.
   */
  hit(key: string, windowMs: number, nowMs: number, count?: number): Promise<number>;
  /**
   * Counts one event in each of several windows of one `group` (an agent's own limit and its per-tool limit)
   * at once, and returns each window's sliding count, in order. With Redis: one script call over keys that
   * share the group's hash tag, instead of one call per window.
   */
  hitGroup(group: string, windows: readonly RateWindow[], nowMs: number): Promise<number[]>;
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

/** The shared state cannot be read or written: a member of the error model (503, src/errors/broker-errors.ts). */
export class StateUnavailableError extends BrokerError {
  override readonly name: string = 'StateUnavailableError';
  constructor(message?: string, options?: ErrorOptions, reason: 'state_unavailable' | 'replication_unconfirmed' = 'state_unavailable') {
    super(reason, message, options);
  }
}

/** A change the Redis master took but fewer replicas than required acknowledged in time (redis.replica_acks). */
export class ReplicationUnconfirmedError extends StateUnavailableError {
  override readonly name = 'ReplicationUnconfirmedError';
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options, 'replication_unconfirmed');
  }
}

export interface RevocableClaims { readonly jti?: unknown; readonly client_id?: unknown; readonly sub?: unknown; readonly tool?: unknown; readonly iat?: unknown; readonly act?: unknown }

/** Longer chains are refused by the exchange (max delegation depth) and by validators; this bounds the walk. */
const MAX_ACT_DEPTH = 32;

/**
 * Every agent a token speaks for: its `client_id` and each `act.sub`, outermost first, at every depth of the
 * nesting (RFC 8693 §4.1). A malformed level ends the walk (validators refuse such tokens anyway).
 */
export function agentsOf(claims: RevocableClaims): string[] {
  const agents = typeof claims.client_id === 'string' ? [claims.client_id] : [];
  let act = claims.act;
  for (let depth = 0; depth < MAX_ACT_DEPTH && typeof act === 'object' && act !== null; depth += 1) {
    const { sub, act: inner } = act as { sub?: unknown; act?: unknown };
    if (typeof sub === 'string' && !agents.includes(sub)) agents.push(sub);
    act = inner;
  }
  return agents;
}

/** The ids of every rule that could cover these claims: what a lookup (not a scan) must read. Pure. */
export function candidateRuleIds(claims: RevocableClaims): string[] {
  const ids: string[] = [];
  if (typeof claims.jti === 'string') ids.push(`token:${claims.jti}`);
  for (const agent of agentsOf(claims)) ids.push(`agent:${agent}`);
  if (typeof claims.sub === 'string') ids.push(`user:${claims.sub}`);
  if (typeof claims.tool === 'string') ids.push(`tool:${claims.tool}`);
  return ids;
}

/** Whether a broker token's claims fall under a revocation rule. Pure. */
export function isRevokedBy(claims: RevocableClaims, rule: Revocation): boolean {
  const iat = typeof claims.iat === 'number' ? claims.iat : Number.NEGATIVE_INFINITY;
  if (rule.kind === 'token') return claims.jti === rule.value;
  if (iat > rule.issuedBefore) return false;
  if (rule.kind === 'agent') return agentsOf(claims).includes(rule.value);
  if (rule.kind === 'user') return claims.sub === rule.value;
  return claims.tool === rule.value;
}

/** Feed cursors: a Redis stream id (`<ms>-<seq>`) or the in-memory sequence number. */
const CURSOR = /^\d{1,20}(-\d{1,20})?$/u;

export function isFeedCursor(value: string): boolean {
  return CURSOR.test(value);
}

/** Orders two feed cursors (negative: a is older). */
export function compareCursors(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const major = BigInt(am) - BigInt(bm);
  if (major !== 0n) return major < 0n ? -1 : 1;
  const minor = BigInt(as) - BigInt(bs);
  return minor === 0n ? 0 : minor < 0n ? -1 : 1;
}

/** The sliding-window estimate from two fixed windows. */
/** One window of a group (SharedState.hitGroup): its name within the group and its length. */
export interface RateWindow {
  readonly key: string;
  readonly windowMs: number;
}

export function slidingCount(current: number, previous: number, windowMs: number, nowMs: number): number {
  const elapsed = (nowMs % windowMs) / windowMs;
  return current + previous * (1 - elapsed);
}
