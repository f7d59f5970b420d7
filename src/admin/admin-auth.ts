/**
 * Admin API authentication, separate from agents: `Authorization: Bearer <id>.<secret>`. The id selects one
 * configured key, whose keyed hash the secret must match in constant time (src/auth/key-hash.ts); an unknown
 * id costs the same as a known one. Every failure is counted in the failure ledger (aggregated records).
 * Each key has a role: `viewer` reads (revocations, audit), `operator` also acts. Keys are created with
 * `broker admin-key --id <id>`.
 */
import { hashKeySecret, newKeySecret } from '../auth/key-hash.js';
import { keyTable, parseBearerKey } from '../auth/key-check.js';
import type { AuthFailureReason } from '../auth/failure-ledger.js';

export const ADMIN_ROLES = ['viewer', 'operator'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

export interface AdminKey { readonly id: string; readonly hash: string; readonly role?: AdminRole }

/** Who called the admin API: the key id (recorded as who acted) and its role. */
export interface AdminCaller { readonly id: string; readonly role: AdminRole }

export type AdminAuthFailure = (reason: AuthFailureReason, callerAddress: string, presentedId?: string) => void;

export function createAdminAuthenticator(keys: readonly AdminKey[], onFailure: AdminAuthFailure = () => undefined) {
  const table = keyTable(keys);
  /** The caller, or undefined if the header does not carry a valid key. */
  return function authenticate(authorization: string | undefined, callerAddress = 'unknown'): Promise<AdminCaller | undefined> {
    const presented = parseBearerKey(authorization);
    if (!presented) {
      onFailure(authorization === undefined ? 'missing' : 'malformed', callerAddress);
      return Promise.resolve(undefined);
    }
    const result = table.check(presented.id, presented.secret);
    if (!result.ok) {
      onFailure(result.reason, callerAddress, result.presentedId);
      return Promise.resolve(undefined);
    }
    // Keys written before roles existed act as operators: that is what they could do.
    return Promise.resolve({ id: result.entry.id, role: result.entry.role ?? 'operator' });
  };
}

/** A new admin (or validator) key and the hash to put in the configuration. */
export function createAdminKey(id: string): Promise<{ key: string; hash: string }> {
  const secret = newKeySecret();
  return Promise.resolve({ key: `${id}.${secret}`, hash: hashKeySecret(secret) });
}
