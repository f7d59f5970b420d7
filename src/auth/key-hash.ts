/**
 * Admin and validator keys: `<id>.<secret>`, the secret 32 random bytes (256 bits, base64url). Such a secret
 * cannot be guessed, so a slow password hash adds nothing but a denial-of-service lever (each wrong key cost
 * one scrypt on libuv's thread pool, issue 14 item 3). Keys are stored as a keyed hash instead:
 *   `hmac-sha256$<salt b64url>$<HMAC-SHA256(salt, secret) b64url>`
 * checked in constant time (a few microseconds, on the event loop, never on the thread pool). The salt keeps
 * two entries with the same key from looking alike and makes the stored value useless as a lookup key.
 * Entries in the old scrypt form are refused at load, naming the fix (`broker admin-key` prints the new form).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'hmac-sha256';
const SALT_BYTES = 16;
const MAC_BYTES = 32;
/** 32 random bytes in base64url, without padding. */
export const KEY_SECRET_CHARS = 43;
const SECRET = /^[A-Za-z0-9_-]{43,256}$/u;

export interface KeyHash { readonly salt: Buffer; readonly mac: Buffer }

export function parseKeyHash(encoded: string): KeyHash | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 3 || parts[0] !== PREFIX) return undefined;
  const salt = Buffer.from(parts[1] ?? '', 'base64url');
  const mac = Buffer.from(parts[2] ?? '', 'base64url');
  if (salt.length < SALT_BYTES || mac.length !== MAC_BYTES) return undefined;
  return { salt, mac };
}

export function isKeyHash(encoded: string): boolean {
  return parseKeyHash(encoded) !== undefined;
}

/** The previous form (`scrypt$N$r$p$salt$hash`): recognised only to name the migration in the load error. */
export function isLegacyScryptKeyHash(encoded: string): boolean {
  return encoded.startsWith('scrypt$');
}

function mac(salt: Buffer, secret: string): Buffer {
  return createHmac('sha256', salt).update(secret, 'utf8').digest();
}

export function hashKeySecret(secret: string): string {
  const salt = randomBytes(SALT_BYTES);
  return [PREFIX, salt.toString('base64url'), mac(salt, secret).toString('base64url')].join('$');
}

/** A fresh key secret: 256 bits from the CSPRNG. */
export function newKeySecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether a presented secret has the shape of a key secret (checked before any hashing). */
export function isKeySecretShape(secret: string): boolean {
  return SECRET.test(secret);
}

/** Constant-time comparison: the same HMAC and the same comparison whatever the input. */
export function verifyKeySecret(hash: KeyHash, presented: string): boolean {
  return timingSafeEqual(mac(hash.salt, presented), hash.mac);
}

/**
 * Compared against when the id is unknown, so that unknown and known ids cost the same (one HMAC and one
 * constant-time comparison); it matches nothing: its MAC is random, not the MAC of any secret.
 */
export const DUMMY_KEY_HASH: KeyHash = { salt: randomBytes(SALT_BYTES), mac: randomBytes(MAC_BYTES) };
