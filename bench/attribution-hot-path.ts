/**
 * Micro-benchmark of the attribution hot path (not part of `npm test`, not part of `npm run bench`):
 *   1. chaining one record: the reference (chainRecord + canonicalJson of the line: two serialisations)
 *      against chainRecordLine (one serialisation, hash spliced in), for a record in any key order and for one
 *      in canonical key order (as the broker builds them: one JSON.stringify), in records/s on one core;
 *   2. the durable file sink end to end: N concurrent appenders for a few seconds, records/s and the mean
 *      batch size (records per write + fdatasync), for a few batching windows.
 * The numbers are for comparing variants within one run; the machine is shared and noisy.
 *
 *   npx tsx bench/attribution-hot-path.ts [--seconds 2] [--concurrency 50] [--windows 0,1,2]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { canonicalJson } from '../src/attribution/canonical-json.js';
import { EMPTY_CHAIN, chainRecord, chainRecordLine, type ChainHead } from '../src/attribution/chain.js';
import { JsonlFileSink } from '../src/attribution/jsonl-file-sink.js';
import type { ExchangeRecord } from '../src/attribution/record.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '50' },
    windows: { type: 'string', default: '0,1,2' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const windows = values.windows.split(',').map(Number);

function record(i: number): ExchangeRecord {
  return {
    v: 1, type: 'token_exchange', id: `0b6c2f9e-8d1a-4f7e-9c3b-${String(i).padStart(12, '0')}`, time: new Date(1_795_000_000_000 + i).toISOString(),
    request_id: `req-${String(i)}`, decision: 'granted', reason: 'granted',
    agent: { client_id: 'bench-agent', authenticated: true }, user: { iss: 'https://idp.bench.test', sub: 'alice' }, actors: ['bench-agent'],
    tool: { id: 'crm', resource: 'https://crm.example.test/api' },
    scopes: { requested: ['crm.accounts.read', 'crm.accounts.write'], granted: ['crm.accounts.read'], dropped: [{ scope: 'crm.accounts.write', reason: 'not_allowed_for_agent' }] },
    token: { jti: `jti-${String(i)}`, exp: 1_795_000_300, lifetime_bound_by: 'tool_max_ttl' },
    subject_token_sha256: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg', caller: { address: '127.0.0.1' },
  };
}

function timeLoop(label: string, step: (i: number, head: ChainHead) => ChainHead): void {
  let head = EMPTY_CHAIN;
  let n = 0;
  const warmEnd = performance.now() + 500;
  while (performance.now() < warmEnd) head = step(n++ & 1023, head);
  n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let k = 0; k < 256; k++) head = step(n++ & 1023, head);
  }
  const elapsed = (performance.now() - start) / 1000;
  console.log(`${label.padEnd(44)} ${Math.round(n / elapsed).toLocaleString('en').padStart(10)} records/s  (${(elapsed * 1e6 / n).toFixed(2)} µs/record)`);
}

const pool = Array.from({ length: 1024 }, (_, i) => record(i));
timeLoop('chainRecord + canonicalJson(line) (before)', (i, head) => {
  const line = chainRecord(pool[i] ?? record(i), head);
  canonicalJson(line);
  return { seq: line.seq, hash: line.hash };
});
timeLoop('chainRecordLine (one serialisation)', (i, head) => {
  const { seq, hash } = chainRecordLine(pool[i] ?? record(i), head);
  return { seq, hash };
});
// Records as build-record.ts builds them, keys in canonical order at every level (parsing canonical text
// gives exactly that): chainRecordLine then serialises with one JSON.stringify instead of member by member.
const ordered = pool.map((r) => JSON.parse(canonicalJson(r)) as ExchangeRecord);
timeLoop('chainRecordLine, record in canonical order', (i, head) => {
  const { seq, hash } = chainRecordLine(ordered[i] ?? record(i), head);
  return { seq, hash };
});

for (const windowMs of windows) {
  const dir = await mkdtemp(join(tmpdir(), 'attribution-bench-'));
  try {
    let writes = 0;
    const sink = new JsonlFileSink(join(dir, 'attribution.jsonl'), { batchWindowMs: windowMs, checkpointEverySeconds: 0 });
    await sink.append(record(0));
    const before = process.hrtime.bigint();
    const end = Date.now() + seconds * 1000;
    let count = 0;
    let lastHead = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        await sink.append(ordered[count++ & 1023] ?? record(count));
        const seq = sink.head?.seq ?? 0;
        if (seq !== lastHead) {
          writes += 1;
          lastHead = seq;
        }
      }
    }));
    const elapsed = Number(process.hrtime.bigint() - before) / 1e9;
    await sink.close();
    console.log(`file sink, ${String(concurrency)} appenders, window ${String(windowMs)} ms`.padEnd(44)
      + ` ${Math.round(count / elapsed).toLocaleString('en').padStart(10)} records/s  (~${(count / Math.max(writes, 1)).toFixed(1)} records per fdatasync)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
