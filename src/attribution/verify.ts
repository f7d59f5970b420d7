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
 */
import type { JWK } from 'jose';
import { canonicalJson } from './canonical-json.js';
import { createHash } from 'node:crypto';
import { GENESIS_HASH, checkCheckpointSignature, publicKeySet, type ChainHead, type CheckpointLine } from './chain.js';

export interface VerifyOptions {
  /** Public keys that may sign checkpoints (private members are ignored). */
  readonly keys: readonly JWK[];
  /** Fail if any record follows the last checkpoint. */
  readonly requireCheckpointedEnd?: boolean;
  /** A chain position known from elsewhere: the log must reach it, with this hash. */
  readonly expectHead?: ChainHead;
}

export interface VerifyOk {
  readonly ok: true;
  /** Decision records (lines that are not checkpoints). */
  readonly records: number;
  readonly checkpoints: number;
  /** Records after the last checkpoint, not covered by any signature. */
  readonly unproven: number;
  readonly head: ChainHead;
  readonly lastCheckpoint?: { readonly seq: number; readonly time: string; readonly kid: string };
}

export interface VerifyFailure {
  readonly ok: false;
  /** 1-based line number of the first bad line. */
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
  return createHash('sha256').update(body).digest('base64url');
}

function isRecordObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `lines` is the log text: one string, or text chunks in order (e.g. `createReadStream(file, 'utf8')`);
 * chunk boundaries need not fall on line ends.
 */
export async function verifyLog(lines: AsyncIterable<string> | string, opts: VerifyOptions): Promise<VerifyResult> {
  const keys = publicKeySet(opts.keys);
  let head: ChainHead = { seq: 0, hash: GENESIS_HASH };
  let lineNo = 0;
  let records = 0;
  let checkpoints = 0;
  let unproven = 0;
  let firstUnprovenLine = 0;
  let lastCheckpoint: VerifyOk['lastCheckpoint'];
  let sawExpected = false;
  const fail = (problem: string, seq?: number): VerifyFailure => ({ ok: false, line: lineNo, ...(seq === undefined ? {} : { seq }), problem });

  for await (const { text, terminated } of linesOf(lines)) {
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
    if (seq > expected) return fail(`seq ${seq} where ${expected} was expected: ${seq - expected} line(s) missing here (deleted, or reordered)`, seq);
    if (seq < expected) return fail(`seq ${seq} where ${expected} was expected: lines reordered or duplicated`, seq);
    if (prev !== head.hash) return fail('prev does not match the hash of the line before: the chain was broken (lines replaced or reordered)', seq);

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
      if (unproven === 0) firstUnprovenLine = lineNo;
      unproven += 1;
    }
    head = { seq, hash };
    if (opts.expectHead?.seq === seq) {
      if (opts.expectHead.hash !== hash) return fail('hash differs from the expected head recorded elsewhere: the log was rewritten', seq);
      sawExpected = true;
    }
  }
  if (opts.expectHead && !sawExpected && opts.expectHead.seq > 0) {
    return { ok: false, line: lineNo + 1, problem: `log ends at seq ${head.seq}, before the expected head seq ${opts.expectHead.seq}: the tail was truncated` };
  }
  if (opts.requireCheckpointedEnd && unproven > 0) {
    return {
      ok: false,
      line: firstUnprovenLine,
      problem: `${unproven} record(s) from this line on follow the last checkpoint and are not covered by a signature (the log was not closed cleanly, or a final checkpoint was cut)`,
    };
  }
  return { ok: true, records, checkpoints, unproven, head, ...(lastCheckpoint ? { lastCheckpoint } : {}) };
}
