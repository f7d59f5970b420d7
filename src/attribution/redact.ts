/**
 * Privacy control for user identifiers, applied by a sink before a record is chained (so the hash covers
 * what is stored, and the clear identifier is never written).
 *   'none'  records keep `user: { iss, sub }` as decided.
 *   'hash'  `user.sub` becomes `hmac-sha256:` + base64url(HMAC-SHA256(key, iss + "\n" + sub)); `iss` stays
 *           (it names the identity provider, not a person). The same user always maps to the same
 *           pseudonym under one key, so queries still work: compute it with `userPseudonym`. Without the
 *           key the pseudonym cannot be reversed or tested against guessed user ids. Rotating the key
 *           starts new pseudonyms; keep old keys as long as their logs must be queried.
 *           Admin records whose target kind is 'user' get `target.value` replaced by
 *           `hmac-sha256:` + base64url(HMAC-SHA256(key, value)) (the value as the admin API received it).
 */
import { createHmac } from 'node:crypto';
import type { AttributionRecord } from './record.js';

export type RedactUsers = 'none' | 'hash';

export const PSEUDONYM_PREFIX = 'hmac-sha256:';

export function userPseudonym(key: string | Uint8Array, iss: string, sub: string): string {
  return `${PSEUDONYM_PREFIX}${createHmac('sha256', key).update(`${iss}\n${sub}`).digest('base64url')}`;
}

export interface Redaction {
  readonly redactUsers?: RedactUsers;
  /** Required for 'hash': at least 16 bytes (a string counts its UTF-8 bytes). */
  readonly redactionKey?: string | Uint8Array;
}

/** A function applying the configured redaction; throws at configuration time when 'hash' lacks a usable key. */
export function makeRedactor(options: Redaction): (record: AttributionRecord) => AttributionRecord {
  const mode = options.redactUsers ?? 'none';
  if (mode === 'none') return (record) => record;
  const key = options.redactionKey;
  const length = typeof key === 'string' ? Buffer.byteLength(key) : key?.byteLength ?? 0;
  if (key === undefined || length < 16) throw new Error("redactUsers 'hash' needs a redactionKey of at least 16 bytes");
  return (record) => {
    if (record.type === 'approval') {
      return { ...record, user: { iss: record.user.iss, sub: userPseudonym(key, record.user.iss, record.user.sub) } };
    }
    if (record.type === 'token_exchange') {
      return record.user === undefined ? record : { ...record, user: { iss: record.user.iss, sub: userPseudonym(key, record.user.iss, record.user.sub) } };
    }
    // Aggregates name no user: no agent was even authenticated, or the failed logins were admin/validator keys.
    if (record.type === 'token_exchange_aggregate' || record.type === 'authentication_failures' || record.target.kind !== 'user') return record;
    return { ...record, target: { kind: 'user', value: `${PSEUDONYM_PREFIX}${createHmac('sha256', key).update(record.target.value).digest('base64url')}` } };
  };
}
