/**
 * Sealing vault entries: AES-256-GCM (node:crypto), a fresh 96-bit IV per seal, the key id in the clear so
 * a rotated ring still opens old entries. The additional authenticated data binds a ciphertext to what it
 * belongs to (purpose, user, tool, upstream): a sealed refresh token copied onto another user's entry, or a
 * pending consent copied onto a stored connection, fails authentication instead of opening.
 *
 *   v1.<kid>.<iv>.<ciphertext>.<tag>        (each part base64url)
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { VaultKeyRing } from './vault-keys.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** What a sealed value is bound to. */
export interface SealBinding {
  readonly purpose: 'connection' | 'pending';
  readonly user: string;
  readonly tool: string;
  readonly upstream: string;
}

function aad(binding: SealBinding): Buffer {
  // NUL separators: none of the parts can contain one (they come from validated identifiers and claims).
  return Buffer.from(['agent-token-broker/vault/v1', binding.purpose, binding.user, binding.tool, binding.upstream].join('\u0000'), 'utf8');
}

export function seal(ring: VaultKeyRing, binding: SealBinding, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', ring.active.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(binding));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', ring.active.kid, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** Why a sealed value did not open: the key id is not in the ring, or it is not what it claims to be. */
export class UnsealError extends Error {
  override readonly name = 'UnsealError';
  constructor(readonly why: 'unknown_key' | 'malformed' | 'not_authentic', readonly kid?: string) {
    super(why === 'unknown_key' ? `sealed under key "${kid ?? ''}", which this replica does not hold` : `sealed value is ${why.replace('_', ' ')}`);
  }
}

export function sealedKid(sealed: string): string | undefined {
  const parts = sealed.split('.');
  return parts.length === 5 && parts[0] === 'v1' ? parts[1] : undefined;
}

export function unseal(ring: VaultKeyRing, binding: SealBinding, sealed: string): string {
  const parts = sealed.split('.');
  if (parts.length !== 5 || parts[0] !== 'v1') throw new UnsealError('malformed');
  const [, kid, ivText, ctText, tagText] = parts as [string, string, string, string, string];
  const key = ring.byKid.get(kid);
  if (!key) throw new UnsealError('unknown_key', kid);
  const iv = Buffer.from(ivText, 'base64url');
  const tag = Buffer.from(tagText, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new UnsealError('malformed');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(binding));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ctText, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new UnsealError('not_authentic');
  }
}
