/**
 * The broker's signing keys: the files of `<keys_dir>` (format: key-file.ts, keys/README.md), read and
 * checked, then scheduled (key-schedule.ts) against the clock. `active` and `all` are evaluated when read,
 * so a `next` key starts signing at its activate_at and a retired key leaves the JWKS once every token it
 * signed has expired, without a restart; `reload()` picks up files written by `broker keys rotate`.
 *
 * In development the first key is generated on first run and marked `dev: true`; production refuses
 * such keys (and files in the format before v1, which only the development default wrote), so a broker
 * can never sign production tokens with a key that sat in a developer's checkout.
 */
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { ConfigProblem } from '../config/config-error.js';
import { ConfigError } from '../config/config-error.js';
import { createCompactSigner, type CompactSigner } from '../minting/compact-signer.js';
import { KEY_FILE_PATTERN, keyFileName, parseKeyFile, serializeKeyFile, SIGNING_ALG, type KeyRecord } from './key-file.js';
import { keySchedule, type KeySchedule, type ScheduleOptions } from './key-schedule.js';

export { SIGNING_ALG } from './key-file.js';

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  /** Private JWK, as oidc-provider's `jwks` configuration wants it (it publishes only the public part). */
  readonly privateJwk: JWK;
  readonly createdAt: number;
  /** Signs broker access tokens (`typ: at+jwt`) synchronously with this key. */
  readonly accessTokenSigner: CompactSigner;
}

export interface SigningKeys {
  /** The key that signs new tokens (now). */
  readonly active: SigningKey;
  /** Every key to publish in the JWKS now (active first). */
  readonly all: readonly SigningKey[];
}

/** Tokens live at most 1 h (the catalog's bound on max_ttl): the default publication grace of a retired key. */
export const MAX_TOKEN_LIFETIME_MS = 3600_000;

export interface LoadKeysOptions {
  readonly generateIfMissing: boolean;
  /** Production refuses keys marked `dev` (and pre-v1 files). */
  readonly production?: boolean;
  readonly schedule?: Partial<ScheduleOptions>;
  readonly now?: () => number;
}

/** A freshly generated key as its file stores it. */
export async function generateSigningKey(opts: { dev?: boolean; status?: 'active' | 'next'; activateAtMs?: number; nowMs?: number } = {}): Promise<Omit<KeyRecord, 'legacy'>> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return {
    kid,
    status: opts.status ?? 'active',
    createdMs: opts.nowMs ?? Date.now(),
    ...(opts.activateAtMs === undefined ? {} : { activateAtMs: opts.activateAtMs }),
    dev: opts.dev ?? false,
    jwk: { ...jwk, kid, alg: SIGNING_ALG, use: 'sig' },
  };
}

/** Writes a new key file (never overwriting one), mode 0600. */
export async function writeKeyFile(keysDir: string, key: Omit<KeyRecord, 'legacy'>, opts: { replace?: boolean } = {}): Promise<string> {
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  const path = join(keysDir, keyFileName(key.kid));
  await writeFile(path, serializeKeyFile(key), { mode: 0o600, flag: opts.replace ? 'w' : 'wx' });
  await chmod(path, 0o600);
  return path;
}

export interface KeyDirectory {
  readonly records: readonly (KeyRecord & { readonly file: string })[];
  readonly problems: readonly ConfigProblem[];
}

/** Reads and checks every key file; every problem names its file. `display` turns a path into what is shown. */
export async function readKeyDirectory(keysDir: string, opts: { production: boolean; display?: (path: string) => string }): Promise<KeyDirectory> {
  const display = opts.display ?? ((p: string) => p);
  const problems: ConfigProblem[] = [];
  const records: (KeyRecord & { file: string })[] = [];
  let names: string[];
  try {
    names = (await readdir(keysDir)).filter((f) => KEY_FILE_PATTERN.test(f)).sort();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') return { records, problems };
    return { records, problems: [{ file: display(keysDir), path: '', message: `cannot read the keys directory (${code ?? String(err)})` }] };
  }
  const seen = new Set<string>();
  for (const name of names) {
    const path = join(keysDir, name);
    const file = display(path);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      problems.push({ file, path: '', message: `cannot read (${(err as { code?: string }).code ?? String(err)})` });
      continue;
    }
    const parsed = parseKeyFile(text);
    if (!parsed.ok) {
      for (const message of parsed.problems) problems.push({ file, path: '', message });
      continue;
    }
    const { key } = parsed;
    if (opts.production && key.legacy) {
      problems.push({ file, path: '', message: 'is a key in the development format (no "format"): refused in production; create one with `broker keys generate`' });
      continue;
    }
    if (opts.production && key.dev) {
      problems.push({ file, path: 'dev', message: 'this key was generated by the development default and is refused in production; create one with `broker keys generate`' });
      continue;
    }
    if (seen.has(key.kid)) {
      problems.push({ file, path: 'kid', message: `repeats the kid "${key.kid}" of another key file` });
      continue;
    }
    seen.add(key.kid);
    try {
      await importJWK(key.jwk, SIGNING_ALG);
      createCompactSigner(key.jwk, 'at+jwt');
    } catch (err) {
      problems.push({ file, path: 'jwk', message: `is not a usable ${SIGNING_ALG} private key (${err instanceof Error ? err.message : String(err)})` });
      continue;
    }
    records.push({ ...key, file });
  }
  return { records, problems };
}

async function toSigningKey(record: KeyRecord): Promise<SigningKey> {
  const privateKey = await importJWK(record.jwk, SIGNING_ALG);
  if (privateKey instanceof Uint8Array) throw new Error(`${record.kid}: symmetric keys cannot sign broker tokens`);
  return {
    kid: record.kid,
    alg: SIGNING_ALG,
    privateKey,
    privateJwk: record.jwk,
    createdAt: Math.floor(record.createdMs / 1000),
    accessTokenSigner: createCompactSigner(record.jwk, 'at+jwt'),
  };
}

/** The loaded keys, scheduled against the clock at each read. */
export class KeyRing implements SigningKeys {
  #records: readonly KeyRecord[] = [];
  #keys = new Map<string, SigningKey>();
  #memo: { at: number; schedule: KeySchedule } | undefined;

  constructor(
    readonly keysDir: string,
    private readonly options: ScheduleOptions,
    private readonly now: () => number,
    private readonly production: boolean,
  ) {}

  /** The schedule now; recomputed at most once a second (the hot path reads `active` on every mint). */
  schedule(): KeySchedule {
    const at = this.now();
    if (this.#memo && at >= this.#memo.at && at - this.#memo.at < 1000 && !this.#crossesBoundary(this.#memo.schedule, at)) return this.#memo.schedule;
    const schedule = keySchedule(this.#records, at, this.options);
    this.#memo = { at, schedule };
    return schedule;
  }

  /** A boundary (activation, unpublication) between the memo and now invalidates it at once. */
  #crossesBoundary(schedule: KeySchedule, at: number): boolean {
    return schedule.keys.some((k) => (k.state === 'next' && k.sinceMs <= at) || (k.unpublishAtMs !== undefined && k.unpublishAtMs <= at));
  }

  get active(): SigningKey {
    const kid = this.schedule().signing;
    const key = kid === undefined ? undefined : this.#keys.get(kid);
    if (key === undefined) throw new Error(`no signing key is active in ${this.keysDir}`);
    return key;
  }

  get all(): SigningKey[] {
    return this.schedule().published.flatMap((kid) => this.#keys.get(kid) ?? []);
  }

  /** Replaces the key set with the directory's; throws ConfigError (and keeps the old set) on any problem. */
  async reload(): Promise<void> {
    const dir = await readKeyDirectory(this.keysDir, { production: this.production });
    if (dir.problems.length > 0) throw new ConfigError(dir.problems);
    await this.adopt(dir.records);
  }

  async adopt(records: readonly KeyRecord[]): Promise<void> {
    const signer = keySchedule(records, this.now(), this.options).signing;
    if (signer === undefined) {
      throw new ConfigError([{ file: this.keysDir, path: '', message: 'no key may sign now: one key must be active (or next with activate_at passed); create one with `broker keys generate`' }]);
    }
    const keys = new Map<string, SigningKey>();
    for (const record of records) keys.set(record.kid, this.#keys.get(record.kid) ?? await toSigningKey(record));
    this.#records = records;
    this.#keys = keys;
    this.#memo = undefined;
  }
}

/**
 * Loads `<keysDir>`: every problem is a ConfigError naming the file and the reason. With no key at all,
 * development generates one (marked dev); production refuses to invent keys.
 */
export async function loadSigningKeys(keysDir: string, opts: LoadKeysOptions): Promise<KeyRing & { generated: boolean }> {
  const production = opts.production ?? false;
  const now = opts.now ?? Date.now;
  const schedule: ScheduleOptions = {
    maxTokenLifetimeMs: opts.schedule?.maxTokenLifetimeMs ?? MAX_TOKEN_LIFETIME_MS,
    clockSkewMs: opts.schedule?.clockSkewMs ?? 10_000,
  };
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  let dir = await readKeyDirectory(keysDir, { production });
  if (dir.problems.length > 0) throw new ConfigError(dir.problems);
  let generated = false;
  if (dir.records.length === 0) {
    if (!opts.generateIfMissing) {
      throw new ConfigError([{ file: keysDir, path: '', message: `no signing key: create one with \`broker keys generate --keys-dir ${keysDir}\`` }]);
    }
    await writeKeyFile(keysDir, await generateSigningKey({ dev: true, nowMs: now() }));
    generated = true;
    dir = await readKeyDirectory(keysDir, { production });
  }
  const ring = new KeyRing(keysDir, schedule, now, production);
  await ring.adopt(dir.records);
  return Object.assign(ring, { generated });
}

/**
 * The active key as a live view, for long-lived signers (the attribution checkpoints): each property reads
 * the key signing now, so checkpoints follow a rotation instead of staying on the key of the start. The
 * key is fixed for the current synchronous run (until the next microtask), so `kid` and `privateKey` read
 * together always belong to one key.
 */
export function activeKeyView(keys: SigningKeys): SigningKey {
  let current: SigningKey | undefined;
  const key = (): SigningKey => {
    if (current === undefined) {
      current = keys.active;
      queueMicrotask(() => { current = undefined; });
    }
    return current;
  };
  return {
    get kid() { return key().kid; },
    get alg() { return key().alg; },
    get privateKey() { return key().privateKey; },
    get privateJwk() { return key().privateJwk; },
    get createdAt() { return key().createdAt; },
    get accessTokenSigner() { return key().accessTokenSigner; },
  };
}
