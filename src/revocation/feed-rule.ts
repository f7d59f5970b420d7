/**
 * What the revocation feed tells validators about a rule: only what matching needs (least disclosure). No
 * reason, no admin id, no rule id; a user rule carries HMAC-SHA256(feedKey, sub) instead of the `sub`.
 *
 * Why a keyed hash with a key delivered to authenticated validators: a validator must be able to match a
 * token's `sub` against the rule, so whatever it receives, it can test a guessed `sub`; what the hash
 * prevents is the feed (and its copies in logs, caches, proxies and validator memory dumps) listing the
 * revoked users in clear to anyone without a validator key. One key per broker (shared by the replicas, in
 * the shared state) keeps the fan-out cheap: an event is serialised once for every subscriber.
 */
import { createHmac } from 'node:crypto';
import type { Revocation, RevocationKind } from '../state/shared-state.js';

export interface FeedRule {
  readonly kind: RevocationKind;
  /** jti, client_id or tool id; for `user`, the base64url HMAC-SHA256 of the `sub` under the feed key. */
  readonly value: string;
  readonly issuedBefore: number;
  readonly expiresAt: number;
}

export function userHash(key: Buffer, sub: string): string {
  return createHmac('sha256', key).update(sub, 'utf8').digest('base64url');
}

export function toFeedRule(rule: Revocation, feedKey: Buffer): FeedRule {
  return {
    kind: rule.kind,
    value: rule.kind === 'user' ? userHash(feedKey, rule.value) : rule.value,
    issuedBefore: rule.issuedBefore,
    expiresAt: rule.expiresAt,
  };
}
