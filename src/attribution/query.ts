/**
 * Streams the decision records of a JSON-lines attribution log (one file, or the files of a rotated
 * chain in order) that match a filter, in log order.
 * Reads line by line (constant memory), testing cheap substrings before parsing a line; checkpoint lines are skipped. A line that is not JSON (a torn
 * final line after a crash) is skipped and passed to `onBadLine`; query does not prove integrity, run
 * `verifyLog` for that.
 */
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { ChainedRecord } from './chain.js';
import { closeAll, openChainFiles } from './log-files.js';

/**
 * All given criteria must hold. `agent`, `user`, `iss`, `tool` and `decision` describe token exchanges, so
 * when any of them is given only `token_exchange` records match; `type` selects a record type
 * (`token_exchange`, `admin_action`). Time bounds apply to every record type.
 */
export interface QueryFilter {
  readonly type?: string;
  /** Agent client_id. */
  readonly agent?: string;
  /** User `sub` (for a log written with redactUsers 'hash', the pseudonym from `userPseudonym`). */
  readonly user?: string;
  /** User issuer. */
  readonly iss?: string;
  /** Tool id. */
  readonly tool?: string;
  readonly decision?: 'granted' | 'denied';
  /** Inclusive lower bound on the record time. */
  readonly from?: Date | string;
  /** Exclusive upper bound on the record time. */
  readonly to?: Date | string;
}

export interface QueryOptions {
  /** A line that is not a JSON object: its 1-based number within `file`. */
  readonly onBadLine?: (line: number, text: string, file: string) => void;
}

function toMillis(value: Date | string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`${name}: not a date/time: ${String(value)}`);
  return ms;
}

/** A predicate for the filter (exported for callers that already hold records). */
export function matcher(filter: QueryFilter): (record: ChainedRecord) => boolean {
  const from = toMillis(filter.from, 'from');
  const to = toMillis(filter.to, 'to');
  const exchangeOnly = filter.agent !== undefined || filter.user !== undefined || filter.iss !== undefined
    || filter.tool !== undefined || filter.decision !== undefined;
  return (r) => {
    if (filter.type !== undefined && r.type !== filter.type) return false;
    if (r.type !== 'token_exchange') return !exchangeOnly && inTime(r.time);
    if (filter.agent !== undefined && r.agent.client_id !== filter.agent) return false;
    if (filter.user !== undefined && r.user?.sub !== filter.user) return false;
    if (filter.iss !== undefined && r.user?.iss !== filter.iss) return false;
    if (filter.tool !== undefined && r.tool?.id !== filter.tool) return false;
    if (filter.decision !== undefined && r.decision !== filter.decision) return false;
    return inTime(r.time);
  };
  function inTime(time: string): boolean {
    if (from === undefined && to === undefined) return true;
    const t = Date.parse(time);
    return (from === undefined || t >= from) && (to === undefined || t < to);
  }
}

/**
 * Substrings a canonical line must contain to possibly match (a cheap test before JSON.parse). Every line
 * the sinks write is canonical JSON, in which a member is exactly `"key":<JSON.stringify(value)>`; a
 * line that is not canonical fails `verifyLog` anyway.
 */
function prefilter(filter: QueryFilter): (text: string) => boolean {
  const needles: string[] = [];
  if (filter.agent !== undefined) needles.push(`"client_id":${JSON.stringify(filter.agent)}`);
  if (filter.user !== undefined) needles.push(`"sub":${JSON.stringify(filter.user)}`);
  if (filter.iss !== undefined) needles.push(`"iss":${JSON.stringify(filter.iss)}`);
  if (filter.tool !== undefined) needles.push(`"id":${JSON.stringify(filter.tool)}`);
  if (filter.decision !== undefined) needles.push(`"decision":${JSON.stringify(filter.decision)}`);
  if (filter.type !== undefined) needles.push(`"type":${JSON.stringify(filter.type)}`);
  return (text) => needles.every((n) => text.includes(n));
}

async function* linesOf(file: string | FileHandle): AsyncGenerator<string> {
  let rest = '';
  const options = { encoding: 'utf8', highWaterMark: 1 << 20 } as const;
  const stream = typeof file === 'string' ? createReadStream(file, options) : file.createReadStream(options);
  for await (const chunk of stream) {
    const text = rest + (chunk as string);
    let from = 0;
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      yield text.slice(from, nl);
      from = nl + 1;
      nl = text.indexOf('\n', from);
    }
    rest = text.slice(from);
  }
  if (rest !== '') yield rest;
}

/** `files`: one log file, or the files of a rotated chain in order (see log-files.ts `chainFiles`). */
export async function* queryLog(files: string | readonly string[], filter: QueryFilter, options: QueryOptions = {}): AsyncGenerator<ChainedRecord> {
  const matches = matcher(filter);
  const mayMatch = prefilter(filter);
  for (const file of typeof files === 'string' ? [files] : files) yield* queryFile(file, file, matches, mayMatch, options);
}

/** The live chain whose active file is `activePath`: its rotated files in order, then the active file. */
export async function* queryChain(activePath: string, filter: QueryFilter, options: QueryOptions = {}): AsyncGenerator<ChainedRecord> {
  const matches = matcher(filter);
  const mayMatch = prefilter(filter);
  const files = await openChainFiles(activePath);
  try {
    for (const { path, handle } of files) yield* queryFile(handle, path, matches, mayMatch, options);
  } finally {
    await closeAll(files);
  }
}

async function* queryFile(
  source: string | FileHandle,
  file: string,
  matches: (record: ChainedRecord) => boolean,
  mayMatch: (text: string) => boolean,
  options: QueryOptions,
): AsyncGenerator<ChainedRecord> {
  let lineNo = 0;
  for await (const text of linesOf(source)) {
    lineNo += 1;
    if (text === '' || !mayMatch(text)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      options.onBadLine?.(lineNo, text, file);
      continue;
    }
    if (typeof parsed !== 'object' || parsed === null) {
      options.onBadLine?.(lineNo, text, file);
      continue;
    }
    const record = parsed as ChainedRecord | { type: 'checkpoint' };
    if (record.type === 'checkpoint') continue;
    if (matches(record)) yield record;
  }
}
