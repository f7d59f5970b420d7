/**
 * Revocation rules as data: their identity (one rule per kind and value, so repeating a revocation is
 * idempotent), their lifetime (a rule is dropped once nothing it covers can still be alive), which rules can
 * ever match (refused otherwise), and the strict parsing of a stored rule (a rule that cannot be read makes a
 * snapshot fail: a validator must never receive a silently shrunken rule set). Pure.
 */
import { REVOCATION_KINDS, StateUnavailableError, type Revocation, type RevocationKind } from '../state/shared-state.js';
import { MAX_AGENT_TTL_SECONDS } from '../config/load-agents.js';
import { MAX_TOOL_TTL_SECONDS } from '../config/load-catalog.js';

/**
 * The longest lifetime any broker token can have: a token's `exp` is bounded by both the tool's and the
 * agent's `max_ttl` (bound-lifetime.ts), and configuration refuses either above its ceiling. Using the
 * ceilings rather than the current catalog keeps a rule alive across a configuration reload that lowers them.
 */
export const MAX_TOKEN_LIFETIME_SECONDS = Math.min(MAX_AGENT_TTL_SECONDS, MAX_TOOL_TTL_SECONDS);

/** The jti format this broker mints (minting/token-id.ts): 128 random bits, base64url without padding. */
const BROKER_JTI = /^[A-Za-z0-9_-]{22}$/u;

export const MAX_RULE_VALUE_LENGTH = 512;

/** The one rule for a kind and value: a repeated revocation updates it instead of adding another. */
export function ruleId(kind: RevocationKind, value: string): string {
  return `${kind}:${value}`;
}

/**
 * When a rule can be dropped, epoch seconds: a token rule when that token has expired (its `exp`, or when
 * unknown the longest lifetime from now), an agent/user/tool rule when the last token it covers (issued at
 * `issuedBefore` at the latest) has expired. Plus the clock skew another replica or validator may have.
 */
export function ruleExpiry(kind: RevocationKind, issuedBefore: number, nowSeconds: number, skewSeconds: number, tokenExp?: number): number {
  const skew = Math.ceil(skewSeconds);
  if (kind === 'token') return (tokenExp ?? nowSeconds + MAX_TOKEN_LIFETIME_SECONDS) + skew;
  return issuedBefore + MAX_TOKEN_LIFETIME_SECONDS + skew;
}

/** Two versions of the same rule, merged: it covers what either covered, for as long as either would live. */
export function mergeRules(existing: Revocation | undefined, next: Revocation): Revocation {
  if (!existing) return next;
  return { ...next, issuedBefore: Math.max(existing.issuedBefore, next.issuedBefore), expiresAt: Math.max(existing.expiresAt, next.expiresAt) };
}

/**
 * Why a revocation could never match any broker token, or undefined when it can: a blank value, a value
 * with surrounding spaces (no `sub`, client id or tool id has them), or a `token` rule for something that is
 * not a jti this broker mints.
 */
export function unmatchableRevocation(kind: RevocationKind, value: string): string | undefined {
  if (value.trim() === '') return 'value must not be blank';
  if (value.length > MAX_RULE_VALUE_LENGTH) return `value must be at most ${String(MAX_RULE_VALUE_LENGTH)} characters`;
  if (value !== value.trim()) return 'value must not start or end with white space';
  if (kind === 'token' && !BROKER_JTI.test(value)) return 'a token revocation needs a jti as this broker mints them (22 base64url characters)';
  return undefined;
}

/** A stored rule that cannot be read: the state is unusable for matching until someone repairs it. */
export class CorruptRuleError extends StateUnavailableError {
  override readonly name = 'CorruptRuleError';
}

const isFiniteInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** A stored rule, checked field by field; throws CorruptRuleError rather than skip or guess. */
export function parseRule(raw: string): Revocation {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new CorruptRuleError('a revocation rule is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw new CorruptRuleError('a revocation rule is not an object');
  const r = parsed as Record<string, unknown>;
  if (typeof r.kind !== 'string' || !(REVOCATION_KINDS as readonly string[]).includes(r.kind)) throw new CorruptRuleError('a revocation rule has no valid kind');
  if (typeof r.value !== 'string' || r.value === '') throw new CorruptRuleError('a revocation rule has no value');
  if (!isFiniteInt(r.issuedBefore) || !isFiniteInt(r.expiresAt) || !isFiniteInt(r.at)) throw new CorruptRuleError('a revocation rule has no valid times');
  if (typeof r.id !== 'string' || typeof r.reason !== 'string' || typeof r.by !== 'string') throw new CorruptRuleError('a revocation rule is incomplete');
  return { id: r.id, kind: r.kind as RevocationKind, value: r.value, issuedBefore: r.issuedBefore, expiresAt: r.expiresAt, reason: r.reason, by: r.by, at: r.at };
}
