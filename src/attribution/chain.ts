/**
 * The hash chain over an attribution log (file format v1).
 *
 * Every line is one JSON object in canonical form (see canonical-json.ts) carrying three chain fields:
 *   seq   1-based position in the chain (records and checkpoints share one sequence)
 *   prev  `hash` of the line before, or GENESIS_HASH for seq 1
 *   hash  base64url(SHA-256(canonicalJson(line without `hash`)))
 * Editing, deleting, inserting or reordering any line breaks `hash`, `seq` or `prev` from that line on.
 *
 * Every N records or T seconds the sink appends a signed checkpoint line, chained like any record:
 *   { v: 1, type: 'checkpoint', seq, prev, head, count, time, kid, sig, hash }
 * `head` is the hash of the line it covers (= `prev`), `count` the number of lines it covers (= seq - 1),
 * `time` the server clock, `kid` the broker signing key, `sig` a detached-payload compact JWS (ES256,
 * RFC 7515 appendix F: `<protected header>..<signature>`) over the canonical JSON of the checkpoint
 * without `sig` and `hash`. Rewriting the chain before a checkpoint requires the broker's private key.
 */
import { createHash, hash as digest } from 'node:crypto';
import { CompactSign, compactVerify, createLocalJWKSet, base64url, type JWK } from 'jose';
import type { SigningKey } from '../keys/signing-keys.js';
import { canonicalJson, canonicalMember, isCanonicallyOrdered } from './canonical-json.js';
import type { AttributionRecord } from './record.js';

/** `prev` of the first line of a chain: base64url of 32 zero bytes. */
export const GENESIS_HASH = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/** The position a chain has reached: the last line's seq and hash (seq 0 and GENESIS_HASH when empty). */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

export const EMPTY_CHAIN: ChainHead = { seq: 0, hash: GENESIS_HASH };

export interface ChainFields {
  readonly seq: number;
  readonly prev: string;
  readonly hash: string;
}

export type ChainedRecord = AttributionRecord & ChainFields;

export interface CheckpointBody {
  readonly v: 1;
  readonly type: 'checkpoint';
  readonly seq: number;
  readonly prev: string;
  /** Hash of the last line this checkpoint covers (equal to `prev`). */
  readonly head: string;
  /** Number of lines covered (records and earlier checkpoints), equal to seq - 1. */
  readonly count: number;
  readonly time: string;
  readonly kid: string;
}

export type CheckpointLine = CheckpointBody & { readonly sig: string; readonly hash: string };

export type ChainedLine = ChainedRecord | CheckpointLine;

/** base64url SHA-256 of the canonical JSON of `body` (which must not contain `hash`). */
export function hashOf(body: object): string {
  return createHash('sha256').update(canonicalJson(body)).digest('base64url');
}

/** Pure: the record as the next line after `prev`. */
export function chainRecord(record: AttributionRecord, prev: ChainHead): ChainedRecord {
  const body = { ...record, seq: prev.seq + 1, prev: prev.hash };
  return { ...body, hash: hashOf(body) };
}

/**
 * The canonical line `canonicalJson(chainRecord(record, prev))` and its hash, serialising every member
 * once: the hashed body and the written line share the member texts, and `hash` is spliced in at its
 * sorted place (the hot path of every sink: one canonicalisation and one SHA-256 per record).
 */
export function chainRecordLine(record: AttributionRecord, prev: ChainHead): { readonly line: string; readonly hash: string; readonly seq: number } {
  const seq = prev.seq + 1;
  const source = record as unknown as Record<string, unknown>;
  const ordered = inOrder(source, prev.hash, seq);
  let body: string;
  let before: string; // members sorting before "hash"
  let after: string; // members sorting after it
  if (ordered) {
    // One JSON.stringify writes the canonical body; the members before "hash" end where `head`'s text ends.
    body = JSON.stringify(ordered.body);
    const cut = ordered.head === undefined ? 1 : JSON.stringify(ordered.head).length;
    before = body.slice(1, Math.max(1, cut - 1));
    after = body.slice(cut, -1);
  } else {
    ({ before, after } = sortedMembers(source, prev.hash, seq));
    body = before === '' ? `{${after}}` : after === '' ? `{${before}}` : `{${before},${after}}`;
  }
  const hash = digest('sha256', body, 'base64url');
  const line = `{${before === '' ? '' : `${before},`}"hash":"${hash}"${after === '' ? '' : `,${after}`}}`;
  return { line, hash, seq };
}

/**
 * The record with the chain's `prev` and `seq` as one object whose JSON.stringify is canonical, and the
 * defined members sorting before "hash" again on their own (`head`, undefined when there are none), to find
 * where `hash` goes; undefined when the record is not in canonical order at every level (then sortedMembers
 * serialises it). The record's own `seq`, `prev` and `hash` are dropped.
 */
function inOrder(source: Record<string, unknown>, prevHash: string, seq: number): { body: Record<string, unknown>; head: Record<string, unknown> | undefined } | undefined {
  if (!isCanonicallyOrdered(source)) return undefined;
  const body: Record<string, unknown> = {};
  let head: Record<string, unknown> | undefined;
  let pending = 0; // 0: prev and seq still to add, 1: seq still to add, 2: both added
  for (const key in source) {
    // Assigning `__proto__` would set the prototype and drop the member; such a record (an own `__proto__`, as
    // JSON.parse makes it) takes sortedMembers. A null-prototype body would keep it but is dictionary-mode in V8
    // and 20 % slower to fill and stringify (scratch measurement: 9.70 vs 8.15 µs per record, pinned).
    if (key === '__proto__') return undefined;
    if (pending === 0 && key > 'prev') { body.prev = prevHash; pending = 1; }
    if (pending === 1 && key > 'seq') { body.seq = seq; pending = 2; }
    if (key === 'seq' || key === 'prev' || key === 'hash') continue;
    const value = source[key];
    body[key] = value;
    if (key < 'hash' && value !== undefined) (head ??= {})[key] = value;
  }
  if (pending === 0) body.prev = prevHash;
  if (pending < 2) body.seq = seq;
  return { body, head };
}

/** The general path of chainRecordLine: members sorted and serialised one by one. */
function sortedMembers(source: Record<string, unknown>, prevHash: string, seq: number): { before: string; after: string } {
  const keys = Object.keys(source).filter((key) => key !== 'seq' && key !== 'prev' && key !== 'hash');
  keys.push('prev', 'seq');
  keys.sort();
  let before = '';
  let after = '';
  for (const key of keys) {
    const value = key === 'seq' ? seq : key === 'prev' ? prevHash : source[key];
    if (value === undefined) continue;
    const member = canonicalMember(key, value);
    if (key < 'hash') before += before === '' ? member : `,${member}`;
    else after += after === '' ? member : `,${member}`;
  }
  return { before, after };
}

/** The head a chained line leaves the chain at. */
export function headOf(line: ChainFields): ChainHead {
  return { seq: line.seq, hash: line.hash };
}

/** The checkpoint that follows `prev`, signed with `signer`. */
export async function signCheckpoint(prev: ChainHead, signer: SigningKey, time: Date): Promise<CheckpointLine> {
  const body: CheckpointBody = {
    v: 1,
    type: 'checkpoint',
    seq: prev.seq + 1,
    prev: prev.hash,
    head: prev.hash,
    count: prev.seq,
    time: time.toISOString(),
    kid: signer.kid,
  };
  const jws = await new CompactSign(new TextEncoder().encode(canonicalJson(body)))
    .setProtectedHeader({ alg: 'ES256', kid: signer.kid })
    .sign(signer.privateKey);
  const [header, , signature] = jws.split('.');
  const withSig = { ...body, sig: `${header ?? ''}..${signature ?? ''}` };
  return { ...withSig, hash: hashOf(withSig) };
}

export type KeyLookup = ReturnType<typeof createLocalJWKSet>;

const PUBLIC_JWK_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use'] as const;

/** Only the public members of a JWK (a private JWK given by mistake is never used as such). */
export function publicJwk(key: JWK): JWK {
  const out: JWK = {};
  for (const member of PUBLIC_JWK_MEMBERS) if (key[member] !== undefined) out[member] = key[member];
  return out;
}

export function publicKeySet(keys: readonly JWK[]): KeyLookup {
  return createLocalJWKSet({ keys: keys.map(publicJwk) });
}

/** Null when the checkpoint's signature is valid for its content under one of `keys`, else why not. */
export async function checkCheckpointSignature(line: CheckpointLine, keys: KeyLookup): Promise<string | null> {
  const { sig } = line;
  const body: { -readonly [K in keyof CheckpointLine]?: CheckpointLine[K] } = { ...line };
  delete body.sig;
  delete body.hash;
  const parts = sig.split('.');
  if (parts.length !== 3 || parts[1] !== '') return 'sig is not a detached-payload compact JWS';
  const payload = base64url.encode(canonicalJson(body));
  try {
    const { protectedHeader } = await compactVerify(`${parts[0] ?? ''}.${payload}.${parts[2] ?? ''}`, keys, { algorithms: ['ES256'] });
    if (protectedHeader.kid !== line.kid) return `signature header kid ${String(protectedHeader.kid)} differs from kid ${line.kid}`;
    return null;
  } catch (error) {
    return `bad signature (kid ${line.kid}): ${error instanceof Error ? error.message : String(error)}`;
  }
}
