/** The aggregation shell: one record per address per interval, written on close, kept when a write fails. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonlFileSink } from '../../src/attribution/jsonl-file-sink.js';
import { MemorySink } from '../../src/attribution/memory-sink.js';
import { queryChain } from '../../src/attribution/query.js';
import { verifyLog } from '../../src/attribution/verify.js';
import { makeRecord, tempDir } from '../attribution/helpers.js';
import type { AggregateDenialRecord } from '../../src/attribution/record.js';
import { createLogger } from '../../src/log.js';
import { createUnauthenticatedDenials } from '../../src/token-endpoint/unauthenticated-denials.js';

const aggregates = (sink: MemorySink) => sink.records.filter((r): r is AggregateDenialRecord => r.type === 'token_exchange_aggregate');

describe('unauthenticated denials', () => {
  it('writes the open interval on close (graceful shutdown), one record per address', async () => {
    const sink = new MemorySink();
    const agg = createUnauthenticatedDenials({ sink, log: createLogger('silent'), now: Date.now, intervalMs: 60_000 });
    for (let i = 0; i < 500; i += 1) agg.add({ address: '10.0.0.1', reason: 'client_authentication_missing', clientId: null, atMs: Date.now() });
    agg.add({ address: '10.0.0.2', reason: 'request_method', clientId: null, atMs: Date.now() });
    expect(sink.records).toHaveLength(0);
    await agg.close();
    expect(aggregates(sink).map((r) => [r.caller.address, r.aggregate.count, r.aggregate.reasons])).toEqual([
      ['10.0.0.1', 500, { client_authentication_missing: 500 }],
      ['10.0.0.2', 1, { request_method: 1 }],
    ]);
  });

  it('writes each interval on its timer, and nothing for an empty one', async () => {
    const sink = new MemorySink();
    const agg = createUnauthenticatedDenials({ sink, log: createLogger('silent'), now: Date.now, intervalMs: 50 });
    agg.add({ address: '10.0.0.1', reason: 'agent_unknown', clientId: null, atMs: Date.now() });
    await expect.poll(() => aggregates(sink).length, { timeout: 2000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(aggregates(sink)).toHaveLength(1);
    await agg.close();
  });

  it('a failed write loses no count: the next interval carries it', async () => {
    const sink = new MemorySink();
    const agg = createUnauthenticatedDenials({ sink, log: createLogger('silent'), now: Date.now, intervalMs: 60_000 });
    for (let i = 0; i < 3; i += 1) agg.add({ address: '10.0.0.1', reason: 'client_authentication_failed', clientId: 'crm-agent', atMs: Date.now() });
    sink.failing = true;
    await agg.flush();
    expect(sink.records).toHaveLength(0);
    sink.failing = false;
    agg.add({ address: '10.0.0.1', reason: 'client_authentication_failed', clientId: 'crm-agent', atMs: Date.now() });
    await agg.close();
    expect(aggregates(sink).map((r) => r.aggregate)).toMatchObject([{ count: 4, reasons: { client_authentication_failed: 4 }, clients: { 'crm-agent': 4 } }]);
  });

  it('aggregate records go through the same hash chain as every other record (file sink, verify, query)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const file = join(dir, 'attribution.jsonl');
      const sink = new JsonlFileSink(file);
      const agg = createUnauthenticatedDenials({ sink, log: createLogger('silent'), now: Date.now, intervalMs: 60_000 });
      await sink.append(makeRecord(1));
      for (let i = 0; i < 9; i += 1) agg.add({ address: '10.0.0.1', reason: 'source_rate_limited', clientId: null, atMs: Date.now() });
      await agg.close();
      await sink.append(makeRecord(2));
      await sink.close();
      const text = await readFile(file, 'utf8');
      await expect(verifyLog(text, { keys: [] })).resolves.toMatchObject({ ok: true, records: 3 });
      const found: unknown[] = [];
      for await (const r of queryChain(file, { type: 'token_exchange_aggregate' })) found.push(r);
      expect(found).toMatchObject([{ seq: 2, caller: { address: '10.0.0.1' }, aggregate: { count: 9, reasons: { source_rate_limited: 9 } } }]);
    } finally {
      await cleanup();
    }
  });
});
