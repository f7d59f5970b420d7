/**
 * The on-call engineer's side of the admin API: needs only the broker URL and an admin key
 * (BROKER_URL or --url; the key from BROKER_ADMIN_KEY or --admin-key-file, `-` for standard input).
 * Prints the result; returns a non-zero exit code on failure.
 */
import { createAdminKey } from '../admin/admin-auth.js';
import { KEY_ID } from '../auth/key-check.js';
import { hashKeySecret, isKeySecretShape } from '../auth/key-hash.js';

export interface AdminTarget { readonly url: string; readonly key: string }

/** Where the CLI was told to find the broker and the key. */
export interface AdminSources {
  readonly url?: string | undefined;
  /** A file holding the key, or `-` for standard input. */
  readonly keyFile?: string | undefined;
  /** A key given on the command line (refused). */
  readonly argvKey?: string | undefined;
}

export const ARGV_KEY_REFUSED =
  'an admin key on the command line is visible to every user of this machine (ps, shell history); '
  + 'set BROKER_ADMIN_KEY, or pass --admin-key-file <file> (or --admin-key-file - to read it from standard input)';

/** Why `url` may not carry an admin key, or undefined: https, or plain http to this machine only. */
export function adminUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `the broker URL "${url}" is not an absolute URL`;
  }
  if (parsed.username !== '' || parsed.password !== '') return 'the broker URL must not contain credentials';
  if (parsed.protocol === 'https:') return undefined;
  const loopback = parsed.hostname === 'localhost' || parsed.hostname === '[::1]' || /^127(\.\d{1,3}){3}$/u.test(parsed.hostname);
  if (parsed.protocol === 'http:' && loopback) return undefined;
  return `refusing to send the admin key over ${parsed.protocol.replace(':', '')} to ${parsed.host}: use https (plain http only to localhost)`;
}

/**
 * The broker URL and the admin key, never from argv (RFC 6750 §5.3 spirit: keep bearer credentials out of
 * places others can read). `read(path)` reads a file, `read('-')` standard input. Throws with the reason.
 */
export function resolveAdminTarget(sources: AdminSources, env: NodeJS.ProcessEnv, read: (path: string) => string): AdminTarget {
  if (sources.argvKey !== undefined) throw new Error(ARGV_KEY_REFUSED);
  const url = sources.url ?? env.BROKER_URL;
  if (!url) throw new Error('the broker URL is required (--url or BROKER_URL)');
  const problem = adminUrlProblem(url);
  if (problem) throw new Error(problem);
  let key: string | undefined;
  if (sources.keyFile !== undefined) {
    const from = sources.keyFile === '-' ? 'standard input' : sources.keyFile;
    try {
      key = read(sources.keyFile).trim();
    } catch (err) {
      throw new Error(`cannot read the admin key from ${from}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (key === '') throw new Error(`no admin key in ${from}`);
  } else {
    key = env.BROKER_ADMIN_KEY?.trim();
  }
  if (!key) throw new Error('an admin key is required: set BROKER_ADMIN_KEY, or pass --admin-key-file <file> (- for standard input)');
  if (/\s/u.test(key)) throw new Error('the admin key must be one line: <id>.<secret>');
  return { url, key };
}

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
