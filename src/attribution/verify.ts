/**
 * Verifies a hash-chained attribution log (format in chain.ts) and names the first bad line.
 *
 * What it proves, and what it cannot:
 *  - Any edited byte, deleted, inserted, duplicated or reordered line is detected at the first line
 *    where it shows (hash, canonical form, seq or prev mismatch).
 *  - Checkpoints must carry a valid ES256 signature by one of `keys` over (seq, prev, head, count, time,
 *    kid), and `head`/`count` must match the chain: a forged or altered checkpoint fails.
 *  - A log whose final bytes lack a newline has a torn final line (a crash mid-write) and fails.
 *  - Records after the last checkpoint are reported as `unproven`: whoever can write the file could
 *    have rewritten or cut them without a key. A clean sink shutdown writes a final checkpoint, so a
 *    cleanly closed log has `unproven: 0`; `requireCheckpointedEnd` turns unproven records into a failure.
 *  - Cutting whole lines from the end, back to an earlier checkpoint, leaves a valid shorter log; it is
 *    detected only against a head recorded elsewhere (`expectHead`, e.g. from an earlier verify, a
 *    checkpoint copied off the host, or the live sink's `head`). With `requireCheckpointedEnd`, removing
 *    a final checkpoint together with the records it covered is detected whenever an earlier checkpoint
 *    remains followed by records.
 *  - Across rotated files (verifyLogFiles): the files are one chain, so a missing, repeated or reordered
 *    file breaks seq/prev at the first line after the gap, which is reported as such. A chain whose oldest
 *    files were deleted (retention) fails at its first line: seq 1 is expected.
 */
import { createReadStream } from 'node:fs';
import type { JWK } from 'jose';
import { canonicalJson } from './canonical-json.js';
import { hash as digest } from 'node:crypto';
import { GENESIS_HASH, checkCheckpointSignature, publicKeySet, type ChainHead, type CheckpointLine } from './chain.js';

export interface VerifyOptions {
  /** Public keys that may sign checkpoints (private members are ignored). */
  readonly keys: readonly JWK[];
  /** Fail if any record follows the last checkpoint. */
  readonly requireCheckpointedEnd?: boolean;
  /** A chain position known from elsewhere: the log must reach it, with this hash. */
  readonly expectHead?: ChainHead;
  /**
   * Where the given lines start when older ones were deleted (retention): the head recorded before they
   * were (e.g. the sealing checkpoint of the newest deleted file). The first line must continue exactly it;
   * nothing before it is proven.
   */
  readonly startAfter?: ChainHead;
}

export interface VerifyOk {
  readonly ok: true;
  /** Decision records (lines that are not checkpoints). */
  readonly records: number;
  readonly checkpoints: number;
  /** Records after the last checkpoint, not covered by any signature. */
  readonly unproven: number;
  readonly head: ChainHead;
  /** Files (or texts) read. */
  readonly files: number;
  readonly lastCheckpoint?: { readonly seq: number; readonly time: string; readonly kid: string };
}

export interface VerifyFailure {
  readonly ok: false;
  /** The file holding the first bad line (when verifying files). */
  readonly file?: string;
  /** 1-based line number of the first bad line (within `file`). */
  readonly line: number;
  readonly seq?: number;
  readonly problem: string;
}

export type VerifyResult = VerifyOk | VerifyFailure;

/** Splits text chunks into lines; the last element reports whether the text ended with a newline. */
async function* linesOf(input: AsyncIterable<string> | string): AsyncGenerator<{ text: string; terminated: boolean }> {
  let rest = '';
  const chunks: AsyncIterable<string> | Iterable<string> = typeof input === 'string' ? [input] : input;
  for await (const chunk of chunks) {
    rest += chunk;
    let nl = rest.indexOf('\n');
    let from = 0;
    while (nl >= 0) {
      yield { text: rest.slice(from, nl), terminated: true };
      from = nl + 1;
      nl = rest.indexOf('\n', from);
    }
    rest = rest.slice(from);
  }
  if (rest !== '') yield { text: rest, terminated: false };
}

/**
 * The line's hash recomputed from its canonical text: the canonical JSON of the line without `hash` is the
 * text with the top-level `"hash":...` member cut out (keys are sorted and canonical strings cannot contain
 * an unescaped quote, so the member text is unambiguous; were it to occur earlier, the digest would
 * simply not match). Saves a second canonicalisation per line.
 */
function bodyHash(text: string, hash: string): string {
  const member = `"hash":${JSON.stringify(hash)}`;
  const at = text.indexOf(member);
  if (at < 0) return '';
  const body = text[at - 1] === ',' ? text.slice(0, at - 1) + text.slice(at + member.length) : text.slice(0, at) + text.slice(at + member.length + 1);
  return digest('sha256', body, 'base64url');
}

function isRecordObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One file (or text) of a chain: `name` is reported with failures; `text` is read when its turn comes. */
export interface LogSource {
  readonly name?: string;
  readonly text: () => AsyncIterable<string> | string;
}

/**
 * `lines` is the log text: one string, or text chunks in order (e.g. `createReadStream(file, 'utf8')`);
 * chunk boundaries need not fall on line ends.
 */
export function verifyLog(lines: AsyncIterable<string> | string, opts: VerifyOptions): Promise<VerifyResult> {
  return verifyChain([{ text: () => lines }], opts);
}

/**
 * Verifies one chain split over files (rotation): `files` in chain order, oldest first, each checked line by
 * line as if concatenated, and each required to end with a newline. A failure names the file and its line;
 * a missing, repeated or misplaced file shows at the first line of the file after the gap.
 */
export function verifyLogFiles(files: readonly string[], opts: VerifyOptions): Promise<VerifyResult> {
  return verifyChain(files.map((file) => ({ name: file, text: () => createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }) })), opts);
}

export async function verifyChain(sources: readonly LogSource[], opts: VerifyOptions): Promise<VerifyResult> {
  const keys = publicKeySet(opts.keys);
  let head: ChainHead = opts.startAfter ?? { seq: 0, hash: GENESIS_HASH };
  /** The source that holds the line at `head` (undefined before the first line). */
  let headSource: LogSource | undefined;
  let source: LogSource | undefined;
  let lineNo = 0;
  let records = 0;
  let checkpoints = 0;
  let unproven = 0;
  let firstUnproven: { source: LogSource | undefined; line: number } = { source: undefined, line: 0 };
  let lastCheckpoint: VerifyOk['lastCheckpoint'];
  let sawExpected = false;
  const at = (src: LogSource | undefined, line: number): { file?: string; line: number } => (src?.name === undefined ? { line } : { file: src.name, line });
  const fail = (problem: string, seq?: number): VerifyFailure => ({ ok: false, ...at(source, lineNo), ...(seq === undefined ? {} : { seq }), problem });

  for (source of sources) {
    lineNo = 0;
    for await (const { text, terminated } of linesOf(source.text())) {
      lineNo += 1;
      if (!terminated) return fail(`torn final line: ${Buffer.byteLength(text)} bytes without a newline (the writer stopped mid-record, or the tail was cut)`);
      if (text === '') return fail('empty line');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return fail('not valid JSON (bytes were changed or the line is damaged)');
      }
      if (!isRecordObject(parsed)) return fail('not a JSON object');
      const { seq, prev, hash, ...rest } = parsed;
      if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return fail('missing or malformed seq');
      if (typeof prev !== 'string' || typeof hash !== 'string') return fail('missing prev or hash: not a chained record', seq);
      if (canonicalJson(parsed) !== text) return fail('line is not in canonical JSON form: bytes were changed', seq);
      if (bodyHash(text, hash) !== hash) return fail('hash does not match the line content: the record was edited', seq);
      const expected = head.seq + 1;
      const boundary = headSource !== undefined && headSource !== source ? headSource.name ?? 'the previous file' : undefined;
      if (boundary !== undefined && seq !== expected) {
        return fail(seq > expected
          ? `seq ${seq} where ${expected} was expected: ${seq - expected} line(s) missing between ${boundary} (ends at seq ${head.seq}) and this file: a rotated file is missing, or the files are out of order`
          : `seq ${seq} where ${expected} was expected: this file does not follow ${boundary} (ends at seq ${head.seq}): the files are out of order or repeated`, seq);
      }
      if (headSource === undefined && seq !== expected && opts.startAfter) {
        return fail(`seq ${seq} where ${expected} was expected: the log does not start right after the anchor ${opts.startAfter.seq}:${opts.startAfter.hash}`, seq);
      }
      if (headSource === undefined && seq > expected) {
        return fail(`seq ${seq} where ${expected} was expected: ${seq - expected} line(s) missing here (deleted, or reordered; if the log was rotated, include the earlier files, e.g. verify the directory; if older files were removed for retention, anchor with --start-after <seq:hash> of the last removed line)`, seq);
      }
      if (seq > expected) return fail(`seq ${seq} where ${expected} was expected: ${seq - expected} line(s) missing here (deleted, or reordered)`, seq);
      if (seq < expected) return fail(`seq ${seq} where ${expected} was expected: lines reordered or duplicated`, seq);
      if (prev !== head.hash && headSource === undefined && opts.startAfter) {
        return fail(`prev does not match the anchor ${opts.startAfter.seq}:${opts.startAfter.hash}: this log does not continue that chain`, seq);
      }
      if (prev !== head.hash) {
        return fail(boundary === undefined
          ? 'prev does not match the hash of the line before: the chain was broken (lines replaced or reordered)'
          : `prev does not match the hash of the last line of ${boundary}: this file does not continue that chain`, seq);
      }

      if (rest.type === 'checkpoint') {
        const { head: cpHead, count, time, kid, sig, v } = rest;
        if (v !== 1 || typeof cpHead !== 'string' || typeof count !== 'number' || typeof time !== 'string' || typeof kid !== 'string' || typeof sig !== 'string') {
          return fail('forged checkpoint: malformed checkpoint fields', seq);
        }
        if (cpHead !== head.hash) return fail('forged checkpoint: head is not the hash of the line before', seq);
        if (count !== head.seq) return fail(`forged checkpoint: count ${count} but it follows ${head.seq} lines`, seq);
        const bad = await checkCheckpointSignature(parsed as unknown as CheckpointLine, keys);
        if (bad !== null) return fail(`forged checkpoint: ${bad}`, seq);
        checkpoints += 1;
        unproven = 0;
        lastCheckpoint = { seq, time, kid };
      } else {
        records += 1;
        if (unproven === 0) firstUnproven = { source, line: lineNo };
        unproven += 1;
      }
      head = { seq, hash };
      headSource = source;
      if (opts.expectHead?.seq === seq) {
        if (opts.expectHead.hash !== hash) return fail('hash differs from the expected head recorded elsewhere: the log was rewritten', seq);
        sawExpected = true;
      }
    }
  }
  if (opts.expectHead && !sawExpected && opts.expectHead.seq > 0) {
    return { ok: false, ...at(source, lineNo + 1), problem: `log ends at seq ${head.seq}, before the expected head seq ${opts.expectHead.seq}: the tail was truncated` };
  }
  if (opts.requireCheckpointedEnd && unproven > 0) {
    return {
      ok: false,
      ...at(firstUnproven.source, firstUnproven.line),
      problem: `${unproven} record(s) from this line on follow the last checkpoint and are not covered by a signature (the log was not closed cleanly, or a final checkpoint was cut)`,
    };
  }
  return { ok: true, records, checkpoints, unproven, head, files: sources.length, ...(lastCheckpoint ? { lastCheckpoint } : {}) };
}
