/**
 * Where the console's explorer (and the admin audit route) read attribution records: the file sink's chain of
 * rotated files (query.ts, verify.ts), or the Redis sink's per-replica streams (redis-query.ts). One shape
 * for both, so the pages do not care which sink the broker writes to.
 */
import type { JWK } from 'jose';
import { publicJwk, type ChainedRecord } from './chain.js';
import { chainFiles } from './log-files.js';
import { queryChain, type QueryFilter } from './query.js';
import { attributionStreams, findInStreams, queryStreams, verifyStreams } from './redis-query.js';
import { verifyLogFiles, type VerifyResult } from './verify.js';
import type { BrokerConfig } from '../domain/broker-config.js';
import { RedisState } from '../state/redis-state.js';
import type { SharedState } from '../state/shared-state.js';

export interface RecordDetail {
  readonly record: ChainedRecord;
  /** The stream key of the record's chain (Redis sink); absent for the file sink's single chain. */
  readonly chain?: string;
  readonly previous?: ChainedRecord;
  readonly next?: ChainedRecord;
  readonly linked: boolean;
}

export interface RecordSource {
  readonly kind: 'file' | 'redis';
  /** Matching records, oldest first; nothing when no log exists yet. */
  query(filter: QueryFilter): AsyncGenerator<ChainedRecord>;
  find(id: string): Promise<RecordDetail | undefined>;
  verify(keys: readonly JWK[]): Promise<VerifyResult & { readonly chains?: number }>;
}

function isMissing(err: unknown): boolean {
  return err instanceof Error && 'code' in err && err.code === 'ENOENT';
}

export function fileRecordSource(logFile: string): RecordSource {
  async function* query(filter: QueryFilter): AsyncGenerator<ChainedRecord> {
    try {
      yield* queryChain(logFile, filter);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  return {
    kind: 'file',
    query,
    async find(id) {
      let previous: ChainedRecord | undefined;
      let found: ChainedRecord | undefined;
      for await (const r of query({})) {
        if (found) return { record: found, ...(previous ? { previous } : {}), next: r, linked: previous === undefined || previous.hash === found.prev };
        if (r.id === id) found = r;
        else previous = r;
      }
      return found ? { record: found, ...(previous ? { previous } : {}), linked: previous === undefined || previous.hash === found.prev } : undefined;
    },
    async verify(keys) {
      let files: string[];
      try {
        files = await chainFiles(logFile);
      } catch {
        files = [];
      }
      if (files.length === 0) return { ok: true, records: 0, checkpoints: 0, unproven: 0, files: 0, head: { seq: 0, hash: '' } };
      return verifyLogFiles(files, { keys: keys.map(publicJwk) });
    },
  };
}

/** The streams are looked up at each call: a replica that started since has its chain included. */
export function redisRecordSource(state: RedisState): RecordSource {
  const streams = () => attributionStreams(state.redis, state.prefix);
  return {
    kind: 'redis',
    async* query(filter) {
      yield* queryStreams(state.redis, await streams(), filter);
    },
    async find(id) {
      return findInStreams(state.redis, await streams(), id);
    },
    async verify(keys) {
      return verifyStreams(state.redis, await streams(), { keys: keys.map(publicJwk) });
    },
  };
}

/** The source for the broker's configured sink (undefined: Redis sink without a Redis state, refused at load). */
export function recordSourceFor(config: Pick<BrokerConfig, 'attribution'>, state: SharedState): RecordSource | undefined {
  if (config.attribution.sink !== 'redis') return fileRecordSource(config.attribution.file);
  return state instanceof RedisState ? redisRecordSource(state) : undefined;
}
