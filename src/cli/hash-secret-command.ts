/**
 * `broker hash-secret`: standard input holds one secret, or several, one per line (LF or CRLF); the output
 * is one scrypt hash per line, in the same order. Blank lines are skipped. A secret shorter than 16
 * characters is refused by its line number (the secret itself is never echoed).
 */
import { hashClientSecret } from '../provider/client-secret-hash.js';

export const MIN_SECRET_LENGTH = 16;

export type HashSecretsResult = { readonly ok: true; readonly hashes: readonly string[] } | { readonly ok: false; readonly message: string };

/** The secrets in `input`, one per non-blank line. Pure. */
export function splitSecrets(input: string): { line: number; secret: string }[] {
  return input.split(/\r?\n/u).flatMap((secret, index) => (secret.trim() === '' ? [] : [{ line: index + 1, secret }]));
}

export async function hashSecrets(input: string, hash: (secret: string) => Promise<string> = hashClientSecret): Promise<HashSecretsResult> {
  const secrets = splitSecrets(input);
  if (secrets.length === 0) return { ok: false, message: 'no secret on standard input (one per line)' };
  const short = secrets.filter((s) => s.secret.length < MIN_SECRET_LENGTH).map((s) => s.line);
  if (short.length > 0) {
    return { ok: false, message: `the secret must be at least ${MIN_SECRET_LENGTH} characters (line ${short.join(', ')})` };
  }
  return { ok: true, hashes: await Promise.all(secrets.map((s) => hash(s.secret))) };
}
