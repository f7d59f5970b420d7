import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChainedLine } from '../../src/attribution/chain.js';
import { APPEND_SCRIPT, RedisStreamSink, attributionStreamKey, exportStreamToFile, streamLines } from '../../src/attribution/redis-stream-sink.js';
import { AttributionUnavailableError } from '../../src/attribution/sink.js';
import { verifyLog } from '../../src/attribution/verify.js';
import { makeRecord, tempDir, testSigner } from './helpers.js';

const REDIS_PORT = 6379;
let admin: Redis;
const keys: string[] = [];
const clients: Redis[] = [];

function client(port = REDIS_PORT): Redis {
  const redis = new Redis({ host: '127.0.0.1', port, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000, retryStrategy: () => 50 });
  redis.on('error', () => undefined);
  clients.push(redis);
  return redis;
}

async function ready(redis: Redis): Promise<void> {
  const deadline = Date.now() + 5000;
  while (redis.status !== 'ready') {
    if (Date.now() > deadline) throw new Error('redis not ready');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function replica(): string {
  const name = `test-${randomUUID()}`;
  keys.push(`attribution-test:{attribution:${name}}:stream`);
  return name;
}

async function lines(redis: Redis, key: string): Promise<ChainedLine[]> {
  const out: ChainedLine[] = [];
  for await (const line of streamLines(redis, key, 7)) out.push(JSON.parse(line) as ChainedLine);
  return out;
}

beforeAll(async () => {
  admin = client();
  await ready(admin);
});
afterEach(async () => {
  if (keys.length > 0) await admin.del(...keys.splice(0));
});
afterAll(() => {
  for (const c of clients) c.disconnect();
});

describe('RedisStreamSink', () => {
  it('chains records into the replica stream, checkpoints, and the export verifies as a log file', async () => {
    const signer = await testSigner();
    const name = replica();
    const sink = new RedisStreamSink({ redis: admin, replica: name, keyPrefix: 'attribution-test:', signer, checkpointEveryRecords: 10, checkpointEverySeconds: 0 });
    await Promise.all(Array.from({ length: 25 }, (_, i) => sink.append(makeRecord(i + 1))));
    await sink.close();
    const got = await lines(admin, sink.key);
    expect(got.map((l) => l.seq)).toEqual(got.map((_, i) => i + 1));
    expect(got.filter((l) => l.type === 'checkpoint')).toHaveLength(3);
    await expect(verifyLog(streamLines(admin, sink.key), { keys: [signer.publicJwk], requireCheckpointedEnd: true })).resolves.toMatchObject({ ok: true, records: 25, checkpoints: 3 });

    const { dir, cleanup } = await tempDir();
    try {
      const file = join(dir, 'export.jsonl');
      expect(await exportStreamToFile(admin, sink.key, file)).toBe(28);
      await expect(verifyLog(await readFile(file, 'utf8'), { keys: [signer.publicJwk] })).resolves.toMatchObject({ ok: true, records: 25 });
    } finally {
      await cleanup();
    }
  });

  it('continues the chain after a restart, and a second writer on the same chain cannot fork it', async () => {
    const name = replica();
    const opts = { redis: admin, replica: name, keyPrefix: 'attribution-test:' };
    const a = new RedisStreamSink(opts);
    await a.append(makeRecord(1));
    const b = new RedisStreamSink(opts); // same replica name by mistake
    await b.append(makeRecord(2));
    // a's view of the head is stale: its batch is refused, then it re-reads the head.
    await expect(a.append(makeRecord(3))).rejects.toThrow(AttributionUnavailableError);
    await a.append(makeRecord(4));
    await a.close();
    await b.close();
    const got = await lines(admin, a.key);
    expect(got.map((l) => [l.seq, l.type === 'token_exchange' ? l.id : ''])).toEqual([[1, 'rec-1'], [2, 'rec-2'], [3, 'rec-4']]);
    await expect(verifyLog(streamLines(admin, a.key), { keys: [] })).resolves.toMatchObject({ ok: true, records: 3 });
  });

  it('when Redis is down append rejects with AttributionUnavailableError; appends succeed again when it is back', async () => {
    // A TCP proxy in front of Redis that the test can cut and restore.
    const sockets = new Set<Socket>();
    const proxy: Server = createServer((down) => {
      const up = createConnection(REDIS_PORT, '127.0.0.1');
      for (const s of [down, up]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      down.pipe(up);
      up.pipe(down);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const address = proxy.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const port = address.port;
    const redis = client(port);
    await ready(redis);
    const sink = new RedisStreamSink({ redis, replica: replica(), keyPrefix: 'attribution-test:' });
    await sink.append(makeRecord(1));

    await new Promise<void>((r) => {
      proxy.close(() => {
        r();
      });
      for (const s of sockets) s.destroy();
    });
    const err: unknown = await sink.append(makeRecord(2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AttributionUnavailableError);
    expect((err as Error).message).toContain(sink.key);

    await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r));
    await ready(redis);
    await sink.append(makeRecord(3));
    await sink.close();
    await new Promise<void>((r) => {
      proxy.close(() => {
        r();
      });
      for (const s of sockets) s.destroy();
    });
    expect((await lines(admin, sink.key)).map((l) => (l.type === 'token_exchange' ? l.id : ''))).toEqual(['rec-1', 'rec-3']);
  });

  it('keys are cluster-safe: one hash-tagged key per chain, and the append script touches only KEYS[1]', async () => {
    const name = replica();
    const sink = new RedisStreamSink({ redis: admin, replica: name, keyPrefix: 'attribution-test:' });
    expect(sink.key).toBe(`attribution-test:{attribution:${name}}:stream`);
    expect(attributionStreamKey('broker-1', 'broker:')).toBe('broker:{attribution:broker-1}:stream');
    expect(attributionStreamKey('broker-1')).toBe('{attribution:broker-1}:stream');
    expect(() => attributionStreamKey('a}b', 'broker:')).toThrow('attribution replica name and key prefix must not contain { or }: broker:a}b');
    expect(() => new RedisStreamSink({ redis: admin, replica: 'x', keyPrefix: '{broker}:' })).toThrow('must not contain { or }');
    // Every redis.call in the script names its key as KEYS[1], never a key built inside Lua.
    const calls = [...APPEND_SCRIPT.matchAll(/redis\.call\('(\w+)', ([^,)]+)/gu)].map((m) => `${m[1] ?? ''} ${m[2] ?? ''}`);
    expect(calls).toEqual(['XREVRANGE KEYS[1]', 'XADD KEYS[1]']);
    expect(APPEND_SCRIPT).not.toMatch(/KEYS\[[2-9]\]/u);
    await sink.append(makeRecord(1));
    await sink.close();
    expect(await admin.exists(sink.key)).toBe(1);
    expect(await admin.type(sink.key)).toBe('stream');
  });
});
