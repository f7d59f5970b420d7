/**
 * Agent client secrets are stored only as scrypt hashes: `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`.
 * A presented secret is checked with `verifyClientSecret` (behind the guards of auth/agent-secret-guard.ts),
 * so no plaintext secret is ever held.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const PREFIX = 'scrypt';
const DEFAULTS = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function scrypt(secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(secret, salt, KEY_LENGTH, { ...options, maxmem: 64 * 1024 * 1024 }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

export async function hashClientSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(secret, salt, DEFAULTS);
  return [PREFIX, DEFAULTS.N, DEFAULTS.r, DEFAULTS.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

interface ParsedHash { N: number; r: number; p: number; salt: Buffer; key: Buffer }

export function parseClientSecretHash(encoded: string): ParsedHash | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== PREFIX) return undefined;
  const [, n, r, p, salt, key] = parts as [string, string, string, string, string, string];
  const N = Number(n);
  const rr = Number(r);
  const pp = Number(p);
  const validInt = (x: number, min: number, max: number) => Number.isInteger(x) && x >= min && x <= max;
  // N must be a power of two; bounds keep a hostile config from making verification unbounded.
  if (!validInt(N, 1024, 1 << 20) || (N & (N - 1)) !== 0 || !validInt(rr, 1, 32) || !validInt(pp, 1, 16)) return undefined;
  const saltBuf = Buffer.from(salt, 'base64url');
  const keyBuf = Buffer.from(key, 'base64url');
  if (saltBuf.length < 16 || keyBuf.length !== KEY_LENGTH) return undefined;
  return { N, r: rr, p: pp, salt: saltBuf, key: keyBuf };
}

export function isClientSecretHash(encoded: string): boolean {
  return parseClientSecretHash(encoded) !== undefined;
}

/** Constant-time check of a presented secret against a stored hash. Malformed hashes never match. */
export async function verifyClientSecret(encoded: string, presented: string): Promise<boolean> {
  const parsed = parseClientSecretHash(encoded);
  if (!parsed || presented.length === 0 || presented.length > 1024) return false;
  const key = await scrypt(presented, parsed.salt, { N: parsed.N, r: parsed.r, p: parsed.p });
  return timingSafeEqual(key, parsed.key);
}
