/**
 * Where the shared state lives in Redis. Every key starts with the configured prefix, then a Redis Cluster
 * hash tag (`{...}`) that decides its slot, so that every MULTI touches keys of one slot only:
 *
 *   <prefix>{state}:agent-status     HASH    client_id -> AgentStatusOverride (JSON)
 *   <prefix>{state}:revocations      HASH    <kind>:<value> -> Revocation (JSON), one rule per kind and value
 *   <prefix>{state}:revocation-expiry ZSET   rule id -> expiresAt (which rules to drop, oldest first)
 *   <prefix>{state}:feed-key         STRING  the key of the feed's user-rule hashes (random, set once)
 *   <prefix>{state}:events           STREAM  the feed replicas and validators follow (capped)
 *   <prefix>{rl:<key>}:<bucket>      STRING  one fixed rate-limit window (current and previous share the tag)
 *   <prefix>{rlg:<group>}:<key>:<bucket> STRING one window of a group counted together (an agent's limits)
 *   <prefix>{hll:<key>}:<bucket>     HLL     distinct members in one window
 *   <prefix>once:<key>               STRING  one-time claims (DPoP proof jtis), SET NX PX (single-key)
 *   <prefix>oidc:<model>:<id>        STRING  oidc-provider's replay cache (single-key commands only)
 *
 * `{state}` keeps the agent overrides, the revocations and the feed in one slot: a status change and its
 * feed event are written in one transaction, and a replica's mirror reads overrides and the feed position
 * atomically. That data is small (a few thousand overrides and rules, a stream capped at 10 000 entries)
 * and read mostly by a few polling replicas, so one slot is not a hot spot. Rate-limit and distinct-user
 * windows are written on every exchange, so each limit key gets its own tag and the load spreads over the
 * cluster; an agent's exchange limits (its own and per tool) are one group under the agent's tag, counted by
 * one script call per exchange. Prefixes must not contain `{` or `}` (the configuration refuses them): a tag in the prefix would
 * put every key in one slot.
 */

export function stateKey(prefix: string, name: 'agent-status' | 'revocations' | 'revocation-expiry' | 'feed-key' | 'events'): string {
  return `${prefix}{state}:${name}`;
}

export function rateWindowKey(prefix: string, key: string, bucket: number): string {
  return `${prefix}{rl:${key}}:${String(bucket)}`;
}

export function rateGroupKey(prefix: string, group: string, key: string, bucket: number): string {
  return `${prefix}{rlg:${group}}:${key}:${String(bucket)}`;
}

export function distinctWindowKey(prefix: string, key: string, bucket: number): string {
  return `${prefix}{hll:${key}}:${String(bucket)}`;
}

/** A one-time claim (a DPoP proof's jti under its key's thumbprint): one SET NX PX, so any slot will do. */
export function onceKey(prefix: string, key: string): string {
  return `${prefix}once:${key}`;
}
