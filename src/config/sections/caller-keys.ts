/**
 * `admin_keys` and `validator_keys`: who may call the admin API, introspection and the revocation feed.
 * Keys are stored as keyed hashes only; ids are unique across both lists (a safety rule).
 */
import { z } from 'zod';
import { isKeyHash, isLegacyScryptKeyHash } from '../../auth/key-hash.js';
import { canonicalResource } from '../../domain/resource.js';
import { jwksSchema, toJwk } from '../load-agents.js';
import { defineSection } from './section.js';

const keyIdSchema = z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/u, 'must be 1-64 characters of A-Z a-z 0-9 . _ @ -');
/**
 * The keyed hash of an admin or validator key (`hmac-sha256$…`). The scrypt form of earlier versions is refused
 * with the fix: hashing random 256-bit keys with scrypt only gave attackers a way to stall the broker.
 */
const keyHashSchema = z.string().superRefine((value, ctx) => {
  if (isKeyHash(value)) return;
  ctx.addIssue({
    code: 'custom',
    message: isLegacyScryptKeyHash(value)
      ? 'is an scrypt hash from an earlier version; keys are now checked with a keyed hash: print the new form of the same key with `broker admin-key --rehash` (key on standard input), or create a new key with `broker admin-key --id <id>`'
      : 'must be a hash from `broker admin-key` (hmac-sha256$…), never the key itself',
  });
});

/** An admin key: who holds it (recorded as who acted), the hash of its secret (`broker admin-key` prints both), its role. */
const keyEntrySchema = z.strictObject({
  id: keyIdSchema,
  hash: keyHashSchema,
  role: z.enum(['viewer', 'operator']).optional(),
});

/** A validator key (a resource client): a key hash and/or public keys for private_key_jwt; optional resources. */
const validatorKeySchema = z.strictObject({
  id: keyIdSchema,
  hash: keyHashSchema.optional(),
  jwks: jwksSchema.optional(),
  resources: z.array(z.string().refine((value) => canonicalResource(value) !== undefined, 'must be an absolute resource identifier without a fragment')).min(1).optional(),
}).refine((entry) => entry.hash !== undefined || entry.jwks !== undefined, 'needs a hash (from `broker admin-key`) or jwks (public keys for private_key_jwt)');

export const callerKeysSection = defineSection({
  name: 'caller-keys',
  shape: {
    admin_keys: z.array(keyEntrySchema).optional(),
    validator_keys: z.array(validatorKeySchema).optional(),
  },
  assemble: (f) => ({
    adminKeys: f.admin_keys ?? [],
    validatorKeys: (f.validator_keys ?? []).map((entry) => ({
      id: entry.id,
      ...(entry.hash === undefined ? {} : { hash: entry.hash }),
      ...(entry.jwks === undefined ? {} : { jwks: { keys: entry.jwks.keys.map(toJwk) } }),
      ...(entry.resources === undefined ? {} : { resources: entry.resources.map((r) => canonicalResource(r) ?? r) }),
    })),
  }),
});
