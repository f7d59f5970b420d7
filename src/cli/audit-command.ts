/**
 * `broker audit verify <path...>` and `broker audit query <path...> [filters]` over a hash-chained JSON-lines
 * attribution log: one file, the files of a rotated chain in order, or a directory (its rotated files in
 * order, then the active file). Exit codes: 0 success; 1 the log failed verification; 2 the log or keys could not be read
 * or an option is invalid.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { publicJwk } from '../attribution/chain.js';
import { queryLog, type QueryFilter } from '../attribution/query.js';
import { resolveLogPaths } from '../attribution/log-files.js';
import { verifyLogFiles } from '../attribution/verify.js';

export interface AuditVerifyOptions {
  /** A log file, a directory holding one rotated chain, or several files in chain order. */
  readonly file: string | readonly string[];
  /** A JWKS document (`{"keys": [...]}`), e.g. saved from the broker's jwks_uri. */
  readonly jwksFile?: string;
  /** The broker keys directory (`signing-<kid>.json`); only the public parts are used. */
  readonly keysDir?: string;
  /** Fail when records follow the last checkpoint. */
  readonly strict?: boolean;
  /** A head recorded earlier (`<seq>:<hash>`): the log must still contain it. */
  readonly expectHead?: string;
  /** The head of the last line removed by retention (`<seq>:<hash>`): the log must continue it. */
  readonly startAfter?: string;
  readonly out: (line: string) => void;
}

async function loadKeys(options: AuditVerifyOptions): Promise<JWK[]> {
  const keys: JWK[] = [];
  if (options.jwksFile !== undefined) {
    const doc = JSON.parse(await readFile(options.jwksFile, 'utf8')) as { keys?: unknown };
    if (!Array.isArray(doc.keys)) throw new Error(`${options.jwksFile}: not a JWKS document (no "keys" array)`);
    keys.push(...(doc.keys as JWK[]));
  }
  if (options.keysDir !== undefined) {
    const files = (await readdir(options.keysDir)).filter((f) => /^signing-[A-Za-z0-9_-]+\.json$/u.test(f)).sort();
    for (const file of files) {
      const stored = JSON.parse(await readFile(join(options.keysDir, file), 'utf8')) as { jwk?: JWK };
      if (stored.jwk === undefined) throw new Error(`${join(options.keysDir, file)}: no "jwk" member`);
      keys.push(publicJwk(stored.jwk));
    }
  }
  return keys;
}

function parseHead(value: string, option = '--expect-head'): { seq: number; hash: string } {
  const match = /^(\d+):([A-Za-z0-9_-]{43})$/u.exec(value);
  if (!match?.[1] || !match[2]) throw new Error(`${option}: expected <seq>:<hash>, got ${value}`);
  return { seq: Number(match[1]), hash: match[2] };
}

export async function runAuditVerify(options: AuditVerifyOptions): Promise<number> {
  let keys: JWK[];
  let expectHead: { seq: number; hash: string } | undefined;
  let startAfter: { seq: number; hash: string } | undefined;
  let files: string[];
  try {
    keys = await loadKeys(options);
    expectHead = options.expectHead === undefined ? undefined : parseHead(options.expectHead);
    startAfter = options.startAfter === undefined ? undefined : parseHead(options.startAfter, '--start-after');
    files = await resolveLogPaths(typeof options.file === 'string' ? [options.file] : options.file);
  } catch (error) {
    options.out(`audit verify: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const result = await verifyLogFiles(files, {
    keys,
    ...(options.strict === true ? { requireCheckpointedEnd: true } : {}),
    ...(expectHead ? { expectHead } : {}),
    ...(startAfter ? { startAfter } : {}),
  });
  if (!result.ok) {
    options.out(`FAILED ${result.file ?? files.join(', ')} line ${result.line}${result.seq === undefined ? '' : ` (seq ${result.seq})`}: ${result.problem}`);
    return 1;
  }
  const what = files.length === 1 ? files[0] ?? '' : `${files.length} files (${files[0] ?? ''} … ${files.at(-1) ?? ''})`;
  options.out(
    `ok ${what}: ${result.records} records, ${result.checkpoints} checkpoints, head ${result.head.seq}:${result.head.hash}`
      + (result.lastCheckpoint ? `, last checkpoint seq ${result.lastCheckpoint.seq} at ${result.lastCheckpoint.time} by ${result.lastCheckpoint.kid}` : ''),
  );
  if (startAfter) {
    options.out(`note: verified from seq ${startAfter.seq + 1}, anchored at ${startAfter.seq}:${startAfter.hash}; lines up to the anchor are not part of this proof`);
  }
  if (result.unproven > 0) {
    options.out(`warning: the last ${result.unproven} records follow the last checkpoint and are not covered by a signature; they could have been cut or rewritten without the broker key`);
  }
  return 0;
}

export interface AuditQueryOptions extends QueryFilter {
  /** A log file, a directory holding one rotated chain, or several files in chain order. */
  readonly file: string | readonly string[];
  /** One JSON record per line, in log order. */
  readonly out: (line: string) => void;
  /** Where errors and skipped lines are reported (default: `out`). */
  readonly warn?: (line: string) => void;
}

export async function runAuditQuery(options: AuditQueryOptions): Promise<number> {
  const { file, out, warn: warnTo, ...filter } = options;
  const warn = warnTo ?? out;
  const decision: string | undefined = filter.decision;
  if (decision !== undefined && decision !== 'granted' && decision !== 'denied') {
    warn(`audit query: --decision must be granted or denied, not ${decision}`);
    return 2;
  }
  try {
    const files = await resolveLogPaths(typeof file === 'string' ? [file] : file);
    const onBadLine = (line: number, _text: string, path: string): void => {
      warn(`audit query: skipped line ${line}${files.length > 1 ? ` of ${path}` : ''}: not JSON`);
    };
    for await (const record of queryLog(files, filter, { onBadLine })) {
      out(JSON.stringify(record));
    }
    return 0;
  } catch (error) {
    warn(`audit query: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
}
