/**
 * Query and verification over the Redis attribution sink's streams (src/attribution/redis-query.ts), with
 * real Redis and the real sink writing two replicas' chains under a unique prefix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRecord } from '../../src/admin/admin-record.js';
import { attributionStreams, findInStreams, queryStreams, verifyStreams } from '../../src/attribution/redis-query.js';
import { attributionStreamKey, RedisStreamSink } from '../../src/attribution/redis-stream-sink.js';
import { loadSigningKeys, type SigningKey } from '../../src/keys/signing-keys.js';
import { RedisState } from '../../src/state/redis-state.js';
import { publicJwk } from '../../src/attribution/chain.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.js';

const redisUp = await requireRedis('query over the Redis attribution sink');
const prefix = uniquePrefix();
let state: RedisState;
let signer: SigningKey;
const T0 = Date.parse('2026-12-03T10:00:00Z');
const action = (minute: number, by: string) => adminRecord({
  nowMs: T0 + minute * 60_000, action: 'agent.suspend', by, target: { kind: 'agent', value: `agent-${String(minute)}` }, reason: `r${String(minute)}`, request_id: `q${String(minute)}`, caller: { address: '127.0.0.1' },
});

beforeAll(async () => {
  if (!redisUp) return;
  state = await RedisState.connect({ url: REDIS_URL, prefix });
  signer = (await loadSigningKeys(await mkdtemp(join(tmpdir(), 'redis-query-')), { generateIfMissing: true })).active;
  const a = new RedisStreamSink({ redis: state.redis, keyPrefix: prefix, replica: 'a', signer, checkpointEveryRecords: 2 });
  const b = new RedisStreamSink({ redis: state.redis, keyPrefix: prefix, replica: 'b', signer, checkpointEveryRecords: 2 });
  // Interleaved in time across the two chains: a has minutes 0, 2, 4; b has 1, 3.
  for (const m of [0, 2, 4]) await a.append(action(m, 'person:a'));
  for (const m of [1, 3]) await b.append(action(m, 'person:b'));
  await a.close();
  await b.close();
});

afterAll(async () => {
  if (!redisUp) return;
  await state.close();
  await cleanupPrefix(prefix);
});

describe.runIf(redisUp)('redis-query', () => {
  it('finds every replica\'s chain and merges their records by time, filters applied', async () => {
    const keys = await attributionStreams(state.redis, prefix);
    expect(keys).toEqual([attributionStreamKey('a', prefix), attributionStreamKey('b', prefix)]);
    const all = [];
    for await (const r of queryStreams(state.redis, keys, {})) all.push(r);
    expect(all.map((r) => r.type === 'admin_action' ? r.target.value : '')).toEqual(['agent-0', 'agent-1', 'agent-2', 'agent-3', 'agent-4']);
    expect(all.map((r) => r.chain)).toEqual([keys[0], keys[1], keys[0], keys[1], keys[0]]);
    const window = [];
    for await (const r of queryStreams(state.redis, keys, { from: new Date(T0 + 60_000), to: new Date(T0 + 3 * 60_000) })) window.push(r.seq);
    expect(window).toHaveLength(2);
    const none = [];
    for await (const r of queryStreams(state.redis, keys, { agent: 'nobody' })) none.push(r);
    expect(none).toEqual([]);
  });

  it('shows a record with its neighbours in its own chain, linked across a checkpoint', async () => {
    const keys = await attributionStreams(state.redis, prefix);
    let id = '';
    for await (const r of queryStreams(state.redis, keys, {})) if (r.type === 'admin_action' && r.target.value === 'agent-4') id = r.id;
    const found = await findInStreams(state.redis, keys, id);
    // Chain a: agent-0, agent-2, checkpoint, agent-4, final checkpoint.
    expect(found).toMatchObject({ chain: keys[0], linked: true, previous: { target: { value: 'agent-2' } } });
    expect(found?.next).toBeUndefined();
    expect(await findInStreams(state.redis, keys, 'no-such-id')).toBeUndefined();
  });

  it('verifies every chain with its signed checkpoints, and names the chain that is broken', async () => {
    const keys = await attributionStreams(state.redis, prefix);
    const jwks = [publicJwk(signer.privateJwk)];
    expect(await verifyStreams(state.redis, keys, { keys: jwks })).toMatchObject({ ok: true, records: 5, chains: 2, unproven: 0 });
    // An edited entry in chain b: one more entry whose line claims seq 1 again.
    const [first] = await state.redis.xrange(keys[1] ?? '', '-', '+', 'COUNT', 1);
    await state.redis.xadd(keys[1] ?? '', '*', 'line', first?.[1][1] ?? '');
    expect(await verifyStreams(state.redis, keys, { keys: jwks })).toMatchObject({ ok: false, file: keys[1], chains: 2 });
  });
});
