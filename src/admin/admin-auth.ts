/**
 * Admin API authentication, separate from agents: `Authorization: Bearer <id>.<secret>`. The id selects one
 * configured key, whose scrypt hash the secret must match (so a wrong key costs one hash check, not one per
 * configured key). Keys are created with `broker admin-key --id <id>`.
 */
import { randomBytes } from 'node:crypto';
import { hashClientSecret } from '../provider/client-secret-hash.js';
import { VerifiedSecretCache } from '../provider/verified-secret-cache.js';

export interface AdminKey { readonly id: string; readonly hash: string }

export function createAdminAuthenticator(keys: readonly AdminKey[]) {
  const byId = new Map(keys.map((k) => [k.id, k.hash]));
  const cache = new VerifiedSecretCache();
  /** The admin key id, or undefined if the header does not carry a valid key. */
  return async function authenticate(authorization: string | undefined): Promise<string | undefined> {
    const match = /^Bearer ([A-Za-z0-9._@-]{1,64})\.([A-Za-z0-9_-]{16,256})$/u.exec(authorization ?? '');
    if (!match) return undefined;
    const [, id, secret] = match as unknown as [string, string, string];
    const hash = byId.get(id);
    if (hash === undefined) return undefined;
    return (await cache.verify(hash, secret)) ? id : undefined;
  };
}

/** A new admin key and the hash to put in the configuration. */
export async function createAdminKey(id: string): Promise<{ key: string; hash: string }> {
  const secret = randomBytes(32).toString('base64url');
  return { key: `${id}.${secret}`, hash: await hashClientSecret(secret) };
}
