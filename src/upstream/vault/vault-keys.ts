/**
 * The vault's encryption keys: AES-256 keys with ids, one of them active (new writes), the others kept so
 * entries sealed under them still open (and are re-sealed under the active key on their next write).
 *
 * Where they come from: the file `<keys_dir>/vault-keys.json` (mode 0600, never in git) or the environment
 * variable BROKER_VAULT_KEYS holding the same JSON; never inline in YAML, never logged (only key ids are).
 *
 *   { "format": "agent-token-broker/vault-keys/v1", "active": "<kid>",
 *     "keys": [ { "kid": "<kid>", "key": "<32 bytes, base64url>", "created": "<ISO time>" } ] }
 *
 * Parsing is pure (text in, ring or problems out), so the broker and the CLI report the same problem.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

export const VAULT_KEYS_FORMAT = 'agent-token-broker/vault-keys/v1';
export const VAULT_KEYS_FILE = 'vault-keys.json';
export const VAULT_KEYS_ENV = 'BROKER_VAULT_KEYS';
const KEY_BYTES = 32;
const KID = /^[A-Za-z0-9_-]{1,64}$/u;
const B64URL = /^[A-Za-z0-9_-]+$/u;

export interface VaultKey {
  readonly kid: string;
  readonly key: Buffer;
  readonly created: string;
}

export interface VaultKeyRing {
  readonly active: VaultKey;
  /** Every key that may open an entry, by id (the active one included). */
  readonly byKid: ReadonlyMap<string, VaultKey>;
}

export type ParsedVaultKeys = { readonly ok: true; readonly ring: VaultKeyRing } | { readonly ok: false; readonly problems: readonly string[] };

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseVaultKeys(text: string, source: string): ParsedVaultKeys {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, problems: [`${source}: not JSON`] };
  }
  if (!isMapping(doc)) return { ok: false, problems: [`${source}: must be a JSON object`] };
  const problems: string[] = [];
  if (doc.format !== VAULT_KEYS_FORMAT) problems.push(`${source}: format must be "${VAULT_KEYS_FORMAT}"`);
  const byKid = new Map<string, VaultKey>();
  if (!Array.isArray(doc.keys) || doc.keys.length === 0) problems.push(`${source}: keys must be a non-empty list`);
  else {
    doc.keys.forEach((entry: unknown, i) => {
      const at = `${source}: keys[${String(i)}]`;
      if (!isMapping(entry)) { problems.push(`${at}: must be an object`); return; }
      const { kid, key, created } = entry;
      if (typeof kid !== 'string' || !KID.test(kid)) { problems.push(`${at}.kid: 1-64 characters of A-Z a-z 0-9 _ -`); return; }
      if (byKid.has(kid)) { problems.push(`${at}.kid: "${kid}" appears twice`); return; }
      // The value itself never appears in a problem: only that it is wrong.
      const bytes = typeof key === 'string' && B64URL.test(key) ? Buffer.from(key, 'base64url') : undefined;
      if (bytes?.length !== KEY_BYTES) { problems.push(`${at}.key: must be ${String(KEY_BYTES)} random bytes, base64url`); return; }
      byKid.set(kid, { kid, key: bytes, created: typeof created === 'string' ? created : '' });
    });
  }
  const active = typeof doc.active === 'string' ? byKid.get(doc.active) : undefined;
  if (!active && problems.length === 0) problems.push(`${source}: active must name one of the keys`);
  if (problems.length > 0 || !active) return { ok: false, problems };
  return { ok: true, ring: { active, byKid } };
}

export class VaultKeysError extends Error {
  override readonly name = 'VaultKeysError';
}

/**
 * The ring from BROKER_VAULT_KEYS, else from `<keysDir>/vault-keys.json`. With neither: in development
 * (`generate: true`) a key is generated into the file; otherwise an error saying what to do.
 */
export function loadVaultKeys(opts: { keysDir: string; env: NodeJS.ProcessEnv; generate: boolean; nowMs?: number }): VaultKeyRing {
  const fromEnv = opts.env[VAULT_KEYS_ENV];
  const parse = (text: string, source: string): VaultKeyRing => {
    const parsed = parseVaultKeys(text, source);
    if (!parsed.ok) throw new VaultKeysError(parsed.problems.join('; '));
    return parsed.ring;
  };
  if (fromEnv !== undefined && fromEnv !== '') return parse(fromEnv, VAULT_KEYS_ENV);
  const file = join(opts.keysDir, VAULT_KEYS_FILE);
  if (existsSync(file)) return parse(readFileSync(file, 'utf8'), file);
  if (!opts.generate) {
    throw new VaultKeysError(`no vault key: set ${VAULT_KEYS_ENV} or create ${file} with \`broker vault-key add --activate\``);
  }
  addVaultKey(file, { activate: true, nowMs: opts.nowMs ?? Date.now() });
  return parse(readFileSync(file, 'utf8'), file);
}

interface KeyFileDoc { format: string; active: string; keys: { kid: string; key: string; created: string }[] }

function readDoc(file: string): KeyFileDoc | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  const parsed = parseVaultKeys(text, file);
  if (!parsed.ok) throw new VaultKeysError(parsed.problems.join('; '));
  return JSON.parse(text) as KeyFileDoc;
}

function writeDoc(file: string, doc: KeyFileDoc): void {
  // Written whole to a temporary file then renamed: a crash never leaves half a key file.
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/**
 * `broker vault-key add`: a new random key. Rotation across replicas is two steps: add (every replica
 * learns the key and can open what it seals), deploy, then activate (new writes use it); see the README.
 */
export function addVaultKey(file: string, opts: { activate: boolean; nowMs: number }): string {
  const doc = readDoc(file);
  const created = new Date(opts.nowMs).toISOString();
  const kid = `v${created.replace(/[-:.TZ]/gu, '').slice(0, 14)}${randomBytes(3).toString('hex')}`;
  const entry = { kid, key: randomBytes(KEY_BYTES).toString('base64url'), created };
  const next: KeyFileDoc = doc
    ? { ...doc, keys: [...doc.keys, entry], active: opts.activate ? kid : doc.active }
    : { format: VAULT_KEYS_FORMAT, active: kid, keys: [entry] };
  writeDoc(file, next);
  return kid;
}

/** `broker vault-key activate <kid>`: new writes use this key from the next start of each replica. */
export function activateVaultKey(file: string, kid: string): void {
  const doc = readDoc(file);
  if (!doc) throw new VaultKeysError(`${file} does not exist`);
  if (!doc.keys.some((k) => k.kid === kid)) throw new VaultKeysError(`${file} has no key "${kid}"`);
  writeDoc(file, { ...doc, active: kid });
}

/** `broker vault-key retire <kid>`: removes a key no entry uses any more (check with the re-encryption report). */
export function retireVaultKey(file: string, kid: string): void {
  const doc = readDoc(file);
  if (!doc) throw new VaultKeysError(`${file} does not exist`);
  if (doc.active === kid) throw new VaultKeysError(`"${kid}" is the active key: activate another one first`);
  if (!doc.keys.some((k) => k.kid === kid)) throw new VaultKeysError(`${file} has no key "${kid}"`);
  writeDoc(file, { ...doc, keys: doc.keys.filter((k) => k.kid !== kid) });
}
