/**
 * `broker keys generate | rotate | list`: the operator's side of key-file.ts and key-schedule.ts.
 * Each returns its exit code and prints through `out`, so the tests call it without a process.
 */
import { calculateJwkThumbprint, type JWK } from 'jose';
import { formatProblem } from '../config/config-error.js';
import { privateJwkProblems, SIGNING_ALG } from './key-file.js';
import { readKeyDirectory, generateSigningKey, writeKeyFile, MAX_TOKEN_LIFETIME_MS } from './signing-keys.js';
import { keySchedule, settle, type ScheduleOptions } from './key-schedule.js';

export interface KeyCommandOptions {
  readonly keysDir: string;
  readonly out: (line: string) => void;
  readonly now?: () => number;
  readonly schedule?: ScheduleOptions;
}

/**
 * Validators that cache the JWKS (the validation SDK: 10 minutes) must have refetched it before the new
 * key signs; brokers pick up new files within 30 s. Default wait between publication and signing: 15 min.
 */
export const DEFAULT_ACTIVATE_AFTER_MS = 15 * 60_000;

const iso = (ms: number): string => new Date(ms).toISOString();
const defaults = (o: KeyCommandOptions): ScheduleOptions => o.schedule ?? { maxTokenLifetimeMs: MAX_TOKEN_LIFETIME_MS, clockSkewMs: 10_000 };

/** Prints each key's state now; 1 when a file is unusable or no key may sign. */
export async function runKeysList(options: KeyCommandOptions & { readonly production?: boolean }): Promise<number> {
  const now = (options.now ?? Date.now)();
  const dir = await readKeyDirectory(options.keysDir, { production: options.production ?? false });
  for (const problem of dir.problems) options.out(formatProblem(problem));
  const schedule = keySchedule(dir.records, now, defaults(options));
  for (const key of schedule.keys) {
    const when = key.state === 'next' ? `signs from ${iso(key.sinceMs)}`
      : key.state === 'active' ? `signing since ${iso(key.sinceMs)}`
        : key.state === 'retired' ? `retired ${iso(key.sinceMs)}, published until ${iso(key.unpublishAtMs ?? key.sinceMs)}`
          : `retired ${iso(key.sinceMs)}, no longer published`;
    const dev = dir.records.find((r) => r.kid === key.kid)?.dev === true ? ' (development key)' : '';
    options.out(`${key.kid}  ${key.state}  ${when}${dev}`);
  }
  if (schedule.signing === undefined) options.out(`no key may sign now in ${options.keysDir}`);
  return dir.problems.length > 0 || schedule.signing === undefined ? 1 : 0;
}

/** Writes the first production key (active at once). Refuses a directory that already holds keys. */
export async function runKeysGenerate(options: KeyCommandOptions): Promise<number> {
  const now = (options.now ?? Date.now)();
  const dir = await readKeyDirectory(options.keysDir, { production: false });
  if (dir.records.length > 0 || dir.problems.length > 0) {
    options.out(`${options.keysDir} already holds signing keys: use \`broker keys rotate\` to add the next one (or start from an empty directory)`);
    return 1;
  }
  const key = await generateSigningKey({ nowMs: now });
  const path = await writeKeyFile(options.keysDir, key);
  options.out(`wrote ${path} (mode 0600): ${key.kid}, active`);
  return 0;
}

/**
 * Publishes a new key now and lets it sign after `activateAfterMs`; the key it replaces stays published
 * until every token it signed has expired. Tidies the files to the current schedule first (settle).
 */
export async function runKeysRotate(options: KeyCommandOptions & { readonly activateAfterMs?: number }): Promise<number> {
  const now = (options.now ?? Date.now)();
  const schedule = defaults(options);
  const dir = await readKeyDirectory(options.keysDir, { production: false });
  if (dir.problems.length > 0) {
    for (const problem of dir.problems) options.out(formatProblem(problem));
    options.out('rotate refused: fix the key files first');
    return 1;
  }
  const dev = dir.records.filter((r) => r.dev);
  if (dev.length > 0) {
    options.out(`rotate refused: ${dev.map((r) => r.file).join(', ')} ${dev.length === 1 ? 'is a development key' : 'are development keys'}; production keys start with \`broker keys generate\` in an empty directory`);
    return 1;
  }
  const current = keySchedule(dir.records, now, schedule);
  if (current.signing === undefined) {
    options.out('rotate refused: no key signs now; use `broker keys generate` in an empty directory');
    return 1;
  }
  const pending = current.keys.find((k) => k.state === 'next');
  if (pending !== undefined) {
    options.out(`rotate refused: ${pending.kid} is already waiting to sign (from ${iso(pending.sinceMs)})`);
    return 1;
  }
  const settled = settle(dir.records, now, schedule);
  for (const [index, record] of settled.entries()) {
    if (record !== dir.records[index]) await writeKeyFile(options.keysDir, record, { replace: true });
  }
  const activateAtMs = now + (options.activateAfterMs ?? DEFAULT_ACTIVATE_AFTER_MS);
  const key = await generateSigningKey({ status: 'next', activateAtMs, nowMs: now });
  const path = await writeKeyFile(options.keysDir, key);
  const retiredUntil = activateAtMs + schedule.maxTokenLifetimeMs + schedule.clockSkewMs;
  options.out(`wrote ${path} (mode 0600): ${key.kid}, next: published by every broker within 30 s, signs from ${iso(activateAtMs)}`);
  options.out(`${current.signing} signs until then and stays published at most until ${iso(retiredUntil)} (its last tokens expired; sooner when the catalog's longest max_ttl is under 1 h); keep its file for \`broker audit verify\``);
  return 0;
}

/**
 * Writes a v1 production key file from a private JWK (a JWK file, or a key file in the format of earlier
 * builds, e.g. one provisioned by hand for a production broker before v1), so the broker keeps signing
 * with the kid validators already know. Active at once when the directory has no other key, next otherwise.
 */
export async function runKeysImport(options: KeyCommandOptions & { readonly source: string; readonly text: string; readonly activateAfterMs?: number }): Promise<number> {
  const now = (options.now ?? Date.now)();
  let doc: unknown;
  try {
    doc = JSON.parse(options.text);
  } catch {
    options.out(`${options.source}: not JSON`);
    return 1;
  }
  const legacy = typeof doc === 'object' && doc !== null && 'jwk' in doc;
  const jwk = (legacy ? (doc as { jwk: unknown }).jwk : doc) as Record<string, unknown>;
  const problems = privateJwkProblems(jwk);
  if (problems.length > 0) {
    for (const problem of problems) options.out(`${options.source}: ${problem}`);
    return 1;
  }
  const kid = typeof jwk.kid === 'string' && /^[A-Za-z0-9_-]+$/u.test(jwk.kid) ? jwk.kid : await calculateJwkThumbprint(jwk);
  const createdAt = legacy ? (doc as { createdAt?: unknown }).createdAt : undefined;
  const dir = await readKeyDirectory(options.keysDir, { production: false });
  const others = dir.records.filter((r) => r.kid !== kid);
  const status = others.length === 0 ? 'active' : 'next';
  const key = {
    kid, status, dev: false,
    createdMs: typeof createdAt === 'number' ? createdAt * 1000 : now,
    ...(status === 'next' ? { activateAtMs: now + (options.activateAfterMs ?? DEFAULT_ACTIVATE_AFTER_MS) } : {}),
    jwk: { ...(jwk as JWK), kid, alg: SIGNING_ALG, use: 'sig' },
  } as const;
  const path = await writeKeyFile(options.keysDir, key, { replace: dir.records.some((r) => r.kid === kid) });
  options.out(`wrote ${path} (mode 0600): ${kid}, ${status}${legacy ? ' (from the format before v1)' : ''}`);
  options.out('import only a key that never left production custody: a key that sat in a development checkout is not a production key');
  return 0;
}
