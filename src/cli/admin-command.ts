/**
 * The on-call engineer's side of the admin API: needs only the broker URL and an admin key
 * (flags or BROKER_URL / BROKER_ADMIN_KEY). Prints the result; returns a non-zero exit code on failure.
 */
import { createAdminKey } from '../admin/admin-auth.js';
import { KEY_ID } from '../auth/key-check.js';
import { hashKeySecret, isKeySecretShape } from '../auth/key-hash.js';

export interface AdminTarget { readonly url: string; readonly key: string }

export async function callAdmin(target: AdminTarget, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ ok: boolean; status: number; body: unknown }> {
  const res = await fetch(new URL(path, target.url), {
    method,
    headers: { authorization: `Bearer ${target.key}`, 'content-type': 'application/json', accept: 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { ok: res.ok, status: res.status, body: parsed };
}

export function describeFailure(result: { status: number; body: unknown }): string {
  const b = result.body as { error?: unknown; error_description?: unknown } | undefined;
  const detail = typeof b?.error_description === 'string' ? b.error_description : JSON.stringify(result.body);
  return `HTTP ${result.status}${typeof b?.error === 'string' ? ` ${b.error}` : ''}: ${detail}`;
}

/**
 * `broker admin-key`: a new key (or, with `rehash`, the new hash form of an existing key read from standard
 * input: keys from before keyed hashes keep working once their entry is replaced) and the configuration entry.
 */
export async function adminKeyCommand(opts: { readonly id?: string; readonly role?: string; readonly validator?: boolean; readonly rehash?: string }): Promise<string> {
  if (opts.role !== undefined && opts.role !== 'viewer' && opts.role !== 'operator') throw new Error('--role must be viewer or operator');
  if (opts.validator && opts.role !== undefined) throw new Error('--role is for admin keys; validator keys have resources instead');
  let key: string;
  let id: string;
  let hash: string;
  if (opts.rehash !== undefined) {
    const existing = opts.rehash.trim();
    const dot = existing.lastIndexOf('.');
    id = existing.slice(0, dot);
    const secret = existing.slice(dot + 1);
    if (dot <= 0 || !KEY_ID.test(id) || !isKeySecretShape(secret)) throw new Error('standard input must hold one key, <id>.<secret>, as `broker admin-key` printed it');
    key = existing;
    hash = hashKeySecret(secret);
  } else {
    if (opts.id === undefined || !KEY_ID.test(opts.id)) throw new Error('--id must be 1-64 characters of A-Z a-z 0-9 . _ @ -');
    id = opts.id;
    ({ key, hash } = await createAdminKey(id));
  }
  const section = opts.validator ? 'validator_keys' : 'admin_keys';
  const extra = opts.validator ? '\n    # resources: [https://crm.example.internal/api]   # optional: only these tools\' tokens' : `\n    role: ${opts.role ?? 'operator'}`;
  return `${opts.rehash === undefined ? `key:  ${key}\n` : ''}hash: ${hash}\n\nbroker.yaml:\n${section}:\n  - id: ${id}\n    hash: "${hash}"${extra}`;
}
