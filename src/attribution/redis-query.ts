/**
 * Query and verification over the Redis attribution sink (redis-stream-sink.ts): one hash chain per replica,
 * each in the stream `<prefix>{attribution:<replica>}:stream`, every entry holding exactly the canonical line
 * the file sink would write. So the file sink's filter (query.ts `matcher`) and verifier (verify.ts) apply
 * unchanged; only the reading differs.
 *
 * - `attributionStreams` finds the replicas' chains by SCAN (a Redis Cluster client scans one node: pass
 *   the keys yourself there, e.g. from `broker audit` exports).
 * - `queryStreams` yields the matching records of every chain, merged by record time (ties: chain order),
 *   reading each stream in pages (XRANGE ... COUNT), so memory stays bounded by the page size per chain.
 * - `verifyStreams` checks each chain in full (hash links, seq, signed checkpoints); the first broken chain
 *   is named by its stream key.
 * - `findInStreams` gives one record with its neighbours in its own chain (the explorer's detail view).
 */
import type { JWK } from 'jose';
import type { RedisClient } from '../state/connect-redis.js';
import { GENESIS_HASH, type ChainedLine, type ChainedRecord } from './chain.js';
import { matcher, type QueryFilter } from './query.js';
import { streamLines } from './redis-stream-sink.js';
import { verifyLog, type VerifyResult } from './verify.js';

const PAGE = 500;

/** Every attribution stream under `prefix` (the broker's `redis.prefix`), sorted by name. */
export async function attributionStreams(redis: RedisClient, prefix: string): Promise<string[]> {
  // The prefix is ours (no glob characters are allowed in it by the config); escape anyway.
  const pattern = `${prefix.replace(/[*?[\]\\]/gu, '\\$&')}{attribution:*}:stream`;
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    for (const key of keys) found.add(key);
    cursor = next;
  } while (cursor !== '0');
  return [...found].sort();
}

/**
 * Entry ids are the Redis server's clock at XADD (`<ms>-<n>`), records carry the broker's: a query from a time
 * starts this much earlier in the stream, so clock differences never hide a record (the filter then applies).
 */
const CLOCK_MARGIN_MS = 5 * 60_000;

/** The lines of one stream, parsed, oldest first, read in pages (from about `fromMs` when given). */
async function* streamEntries(redis: RedisClient, key: string, fromMs?: number): AsyncGenerator<ChainedLine> {
  let start = fromMs === undefined ? '-' : String(Math.max(0, Math.floor(fromMs - CLOCK_MARGIN_MS)));
  for (;;) {
    const page = await redis.xrange(key, start, '+', 'COUNT', PAGE);
    for (const [, fields] of page) {
      const at = fields.indexOf('line');
      try {
        if (at >= 0 && at % 2 === 0) yield JSON.parse(fields[at + 1] ?? '') as ChainedLine;
      } catch {
        // A damaged entry: query does not prove integrity, verifyStreams names it.
      }
    }
    const last = page.at(-1);
    if (!last || page.length < PAGE) return;
    start = `(${last[0]}`;
  }
}

/** The records (checkpoints skipped) of one stream, oldest first. */
async function* streamRecords(redis: RedisClient, key: string, fromMs?: number): AsyncGenerator<ChainedRecord> {
  for await (const line of streamEntries(redis, key, fromMs)) if (line.type !== 'checkpoint') yield line;
}

/** The matching records of every chain in `keys`, merged by time (oldest first). */
export async function* queryStreams(redis: RedisClient, keys: readonly string[], filter: QueryFilter): AsyncGenerator<ChainedRecord & { readonly chain: string }> {
  const matches = matcher(filter);
  const from = filter.from === undefined ? undefined : new Date(filter.from).getTime();
  const cursors = keys.map((key) => ({ key, it: streamRecords(redis, key, Number.isNaN(from) ? undefined : from), head: undefined as ChainedRecord | undefined, done: false }));
  const advance = async (c: (typeof cursors)[number]): Promise<void> => {
    for (;;) {
      const next = await c.it.next();
      if (next.done === true) { c.done = true; c.head = undefined; return; }
      if (matches(next.value)) { c.head = next.value; return; }
    }
  };
  try {
    await Promise.all(cursors.map(advance));
    for (;;) {
      let best: (typeof cursors)[number] | undefined;
      for (const c of cursors) if (c.head && (!best?.head || c.head.time < best.head.time)) best = c;
      if (!best?.head) return;
      yield { ...best.head, chain: best.key };
      await advance(best);
    }
  } finally {
    await Promise.all(cursors.filter((c) => !c.done).map((c) => c.it.return(undefined)));
  }
}

export type StreamsVerifyResult = VerifyResult & { readonly chains: number };

/** Verifies every chain; ok only if each is. Counts are summed over the chains. */
export async function verifyStreams(redis: RedisClient, keys: readonly string[], opts: { readonly keys: readonly JWK[] }): Promise<StreamsVerifyResult> {
  let records = 0;
  let checkpoints = 0;
  let unproven = 0;
  for (const key of keys) {
    const result = await verifyLog(streamLines(redis, key, PAGE), { keys: opts.keys });
    if (!result.ok) return { ...result, file: key, chains: keys.length };
    records += result.records;
    checkpoints += result.checkpoints;
    unproven += result.unproven;
  }
  return { ok: true, records, checkpoints, unproven, head: { seq: 0, hash: '' }, files: keys.length, chains: keys.length };
}

export interface FoundRecord {
  readonly record: ChainedRecord;
  readonly chain: string;
  readonly previous?: ChainedRecord;
  readonly next?: ChainedRecord;
  /** The record's `prev` is the hash of the line right before it (a record or a checkpoint), or genesis. */
  readonly linked: boolean;
}

/** The record with this id, and the records before and after it in its own chain. */
export async function findInStreams(redis: RedisClient, keys: readonly string[], id: string): Promise<FoundRecord | undefined> {
  for (const key of keys) {
    let previous: ChainedRecord | undefined;
    let lineBefore: ChainedLine | undefined;
    let found: { record: ChainedRecord; linked: boolean } | undefined;
    const it = streamEntries(redis, key);
    try {
      for await (const line of it) {
        if (line.type === 'checkpoint') { lineBefore = line; continue; }
        if (found) return { ...found, chain: key, ...(previous ? { previous } : {}), next: line };
        if (line.id === id) found = { record: line, linked: line.prev === (lineBefore?.hash ?? GENESIS_HASH) };
        else previous = line;
        lineBefore = line;
      }
    } finally {
      await it.return(undefined);
    }
    if (found) return { ...found, chain: key, ...(previous ? { previous } : {}) };
  }
  return undefined;
}
