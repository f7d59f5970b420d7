/**
 * Attribution in a Redis Stream, for multi-replica deployments: one hash chain per replica, in the stream
 * `<keyPrefix>{attribution:<replica>}:stream` (the broker passes its `redis.prefix`, default `broker:`).
 * Cluster-safe: the append script touches exactly one key, passed in KEYS, and the name carries the hash
 * tag `{attribution:<replica>}`, so any companion key of this chain added later lands in the same slot.
 * Each entry has one field, `line`, holding exactly
 * the canonical JSON line the file sink would write, so `streamLines`/`exportStreamToFile` produce the file
 * format and `verifyLog` / `broker audit verify` check a stream export like any file.
 *
 * Group commit as in the file sink: records arriving while a batch is in flight form the next batch; each
 * batch is appended by one Lua script that first compares the stream's last line with the head this sink
 * expects (so two processes mistakenly sharing a replica name cannot fork the chain; the loser's batch is
 * rejected and it re-reads the head) and then XADDs every line, atomically. `append` resolves after the
 * script returns: durability is then Redis's (use `appendonly yes` with `appendfsync always`, or
 * replicas; this sink does not call WAIT).
 *
 * Give the client `enableOfflineQueue: false` and a `commandTimeout`: while Redis is unreachable every
 * append then rejects at once with AttributionUnavailableError (the broker mints nothing), and appends
 * succeed again when ioredis has reconnected.
 */
import { open } from 'node:fs/promises';
import type { RedisClient } from '../state/connect-redis.js';
import type { SigningKey } from '../keys/signing-keys.js';
import { chainBatch, type ChainState } from './chain-batch.js';
import { EMPTY_CHAIN, GENESIS_HASH, type ChainedLine } from './chain.js';
import { GroupCommit, type CommitObserver } from './group-commit.js';
import type { AttributionRecord } from './record.js';
import { makeRedactor, type Redaction } from './redact.js';
import { AttributionUnavailableError, type AttributionSink } from './sink.js';

export interface RedisStreamSinkOptions extends Redaction {
  /** A single node, Sentinel-managed or Cluster client: every command touches one hash-tagged key. */
  readonly redis: RedisClient;
  /** This replica's chain name (stable across restarts of the same replica, unique among replicas). */
  readonly replica: string;
  /** Prepended to every key (default none), e.g. the broker's `redis.prefix`; must not contain `{` or `}`. */
  readonly keyPrefix?: string;
  readonly signer?: SigningKey;
  readonly checkpointEveryRecords?: number;
  readonly checkpointEverySeconds?: number;
  /** Group-commit batching window in ms (default 0: a batch is whatever arrived during the previous append). */
  readonly batchWindowMs?: number;
  /** Told after each group commit: batch size, duration, success (metrics). */
  readonly onCommit?: CommitObserver;
  readonly now?: () => Date;
}

/** The Redis Cluster hash tag of a replica's chain: every key of the chain contains it. */
export function chainHashTag(replica: string): string {
  return `{attribution:${replica}}`;
}

/** The stream holding the replica's chain. */
export function attributionStreamKey(replica: string, keyPrefix = ''): string {
  if (/[{}]/u.test(replica) || /[{}]/u.test(keyPrefix)) throw new Error(`attribution replica name and key prefix must not contain { or }: ${keyPrefix}${replica}`);
  return `${keyPrefix}${chainHashTag(replica)}:stream`;
}

/** Touches KEYS[1] only (the stream). ARGV[1]: the head the caller expects ("<seq> <hash>"); ARGV[2..]: lines. */
export const APPEND_SCRIPT = `
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local head = '0 ${GENESIS_HASH}'
if #last > 0 then
  local fields = last[1][2]
  local line = nil
  for i = 1, #fields, 2 do
    if fields[i] == 'line' then line = fields[i + 1] end
  end
  if not line then return redis.error_reply('ATTRIBUTION_CHAIN_DAMAGED last entry has no line field') end
  local ok, obj = pcall(cjson.decode, line)
  if not ok or type(obj.seq) ~= 'number' or type(obj.hash) ~= 'string' then
    return redis.error_reply('ATTRIBUTION_CHAIN_DAMAGED last line is not a chained record')
  end
  head = string.format('%d %s', obj.seq, obj.hash)
end
if head ~= ARGV[1] then return redis.error_reply('ATTRIBUTION_CHAIN_CONFLICT head is ' .. head) end
for i = 2, #ARGV do redis.call('XADD', KEYS[1], '*', 'line', ARGV[i]) end
return #ARGV - 1
`;

export class RedisStreamSink implements AttributionSink {
  readonly key: string;
  readonly #options: RedisStreamSinkOptions;
  readonly #redact: (record: AttributionRecord) => AttributionRecord;
  readonly #timer: NodeJS.Timeout | undefined;
  #state: ChainState | undefined;
  readonly #commit: GroupCommit<AttributionRecord>;
  #closed = false;

  constructor(options: RedisStreamSinkOptions) {
    this.#options = options;
    this.key = attributionStreamKey(options.replica, options.keyPrefix);
    this.#redact = makeRedactor(options);
    this.#commit = new GroupCommit((batch, forced) => this.#persist(batch, forced), { windowMs: options.batchWindowMs ?? 0, ...(options.onCommit ? { onCommit: options.onCommit } : {}) });
    const seconds = options.checkpointEverySeconds ?? 60;
    if (options.signer && seconds > 0) {
      this.#timer = setInterval(() => {
        if ((this.#state?.sinceCheckpoint ?? 0) > 0) this.#requestCheckpoint();
      }, seconds * 1000);
      this.#timer.unref();
    }
  }

  get head(): ChainState['head'] | undefined {
    return this.#state?.head;
  }

  append(record: AttributionRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new AttributionUnavailableError('attribution sink is closed'));
    return this.#commit.submit(record);
  }

  #requestCheckpoint(): void {
    this.#commit.force();
  }

  /** One batch, appended by one script that checks the head; the local head advances only after it returned. */
  async #persist(batch: readonly AttributionRecord[], forceCheckpoint: boolean): Promise<void> {
    try {
      this.#state ??= await this.#readHead();
      const before = this.#state;
      const { lines, state } = await chainBatch(batch, before, {
        ...(this.#options.signer ? { signer: this.#options.signer } : {}),
        checkpointEveryRecords: this.#options.checkpointEveryRecords ?? 1000,
        forceCheckpoint,
        redact: this.#redact,
        now: () => this.#options.now?.() ?? new Date(),
      });
      if (lines.length > 0) {
        await this.#options.redis.eval(APPEND_SCRIPT, 1, this.key, `${before.head.seq} ${before.head.hash}`, ...lines);
      }
      this.#state = state;
    } catch (cause) {
      this.#state = undefined; // re-read the head from Redis before the next batch
      throw new AttributionUnavailableError(`cannot append attribution records to redis stream ${this.key}`, { cause });
    }
  }

  async #readHead(): Promise<ChainState> {
    const last = await this.#options.redis.xrevrange(this.key, '+', '-', 'COUNT', 1);
    const entry = last[0];
    if (!entry) return { head: EMPTY_CHAIN, sinceCheckpoint: 0 };
    const line = parseLine(entry[1]);
    return { head: { seq: line.seq, hash: line.hash }, sinceCheckpoint: line.type === 'checkpoint' ? 0 : 1 };
  }

  /** Writes a final checkpoint when records are uncovered, then stops (the Redis client stays the caller's). */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#closed) return;
    this.#closed = true;
    if (this.#options.signer && (this.#state?.sinceCheckpoint ?? 0) > 0) this.#requestCheckpoint();
    await this.#commit.idle();
  }
}

function lineField(fields: readonly string[]): string {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'line') return fields[i + 1] ?? '';
  throw new AttributionUnavailableError('attribution stream entry has no line field');
}

function parseLine(fields: readonly string[]): ChainedLine {
  const parsed = JSON.parse(lineField(fields)) as Partial<ChainedLine>;
  if (typeof parsed.seq !== 'number' || typeof parsed.hash !== 'string') {
    throw new AttributionUnavailableError('the last attribution stream entry is not a chained record: the stream is damaged, verify it');
  }
  return parsed as ChainedLine;
}

/** The stream's lines in order, each with its newline: feed to `verifyLog`, or write out as a log file. */
export async function* streamLines(redis: RedisClient, key: string, pageSize = 1000): AsyncGenerator<string> {
  let start = '-';
  for (;;) {
    const page = await redis.xrange(key, start, '+', 'COUNT', pageSize);
    for (const [, fields] of page) yield `${lineField(fields)}\n`;
    const last = page.at(-1);
    if (!last || page.length < pageSize) return;
    start = `(${last[0]}`;
  }
}

/** Archives a stream in the JSON-lines file format (the file is created; it must not exist). */
export async function exportStreamToFile(redis: RedisClient, key: string, file: string): Promise<number> {
  const handle = await open(file, 'wx', 0o600);
  let count = 0;
  try {
    let buffer = '';
    for await (const line of streamLines(redis, key)) {
      buffer += line;
      count += 1;
      if (buffer.length > 1 << 20) {
        await handle.write(buffer);
        buffer = '';
      }
    }
    await handle.write(buffer);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return count;
}
