import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/attribution/canonical-json.js';
import { EMPTY_CHAIN, chainRecord, headOf, signCheckpoint, type ChainHead, type ChainedRecord } from '../../src/attribution/chain.js';
import { queryLog, type QueryFilter } from '../../src/attribution/query.js';
import type { AttributionRecord, ExchangeRecord } from '../../src/attribution/record.js';
import { verifyLog } from '../../src/attribution/verify.js';
import { BASE_TIME, makeRecord, tempDir, testSigner } from './helpers.js';

const N = 100_000;
let file: string;
let cleanup: () => Promise<void>;
let signer: Awaited<ReturnType<typeof testSigner>>;
const all: AttributionRecord[] = [];

beforeAll(async () => {
  const t = await tempDir();
  cleanup = t.cleanup;
  signer = await testSigner();
  file = join(t.dir, 'big.jsonl');
  const out: string[] = [];
  let head: ChainHead = EMPTY_CHAIN;
  for (let i = 1; i <= N; i++) {
    const record: AttributionRecord = i === 50_000
      ? { v: 1, type: 'admin_action', id: 'admin-1', time: new Date(BASE_TIME + i * 7000).toISOString(), request_id: 'r', action: 'agent.suspend', by: 'admin', target: { kind: 'agent', value: 'ops-agent' }, reason: 'test', caller: { address: '10.0.0.1' } }
      : makeRecord(i);
    all.push(record);
    const line = chainRecord(record, head);
    out.push(canonicalJson(line));
    head = headOf(line);
    if (i % 10_000 === 0) {
      const cp = await signCheckpoint(head, signer, new Date(BASE_TIME + i * 7000));
      out.push(canonicalJson(cp));
      head = headOf(cp);
    }
  }
  out.push('{"v":1,"type":"token_exch'); // torn tail: query skips it and says so
  await writeFile(file, out.join('\n'));
}, 60_000);
afterAll(async () => cleanup());

async function collect(filter: QueryFilter, onBadLine?: (line: number) => void): Promise<ChainedRecord[]> {
  const got: ChainedRecord[] = [];
  for await (const r of queryLog(file, filter, onBadLine ? { onBadLine } : {})) got.push(r);
  return got;
}

const exchanges = (): ExchangeRecord[] => all.filter((r): r is ExchangeRecord => r.type === 'token_exchange');
const ids = (rs: readonly { id: string }[]): string[] => rs.map((r) => r.id);

describe(`queryLog on ${N} records`, () => {
  it('everything agent X did for user Y between T1 and T2, in order, quickly', async () => {
    const from = new Date(BASE_TIME + 20_000 * 7000).toISOString();
    const to = new Date(BASE_TIME + 80_000 * 7000).toISOString();
    const expected = exchanges().filter((r) => r.agent.client_id === 'billing-agent' && r.user?.sub === 'carol' && r.time >= from && r.time < to);
    expect(expected.length).toBeGreaterThan(1000);
    const started = performance.now();
    const got = await collect({ agent: 'billing-agent', user: 'carol', from, to });
    const elapsed = performance.now() - started;
    expect(ids(got)).toEqual(ids(expected));
    expect(got.every((r, i) => i === 0 || r.seq > got[i - 1]!.seq)).toBe(true);
    expect(elapsed).toBeLessThan(5000);
  });

  it('filters by tool and decision, and the bounds are inclusive-from, exclusive-to', async () => {
    const expected = exchanges().filter((r) => r.tool?.id === 'billing' && r.decision === 'denied');
    expect(ids(await collect({ tool: 'billing', decision: 'denied' }))).toEqual(ids(expected));
    const t = new Date(BASE_TIME + 500 * 7000);
    expect(ids(await collect({ from: t, to: new Date(t.getTime() + 7000) }))).toEqual(['rec-500']);
  });

  it('with only time bounds, admin records are included; exchange filters exclude them', async () => {
    const t = new Date(BASE_TIME + 50_000 * 7000);
    expect(ids(await collect({ from: t, to: new Date(t.getTime() + 1) }))).toEqual(['admin-1']);
    expect(ids(await collect({ type: 'admin_action' }))).toEqual(['admin-1']);
    expect((await collect({ agent: 'ops-agent' })).some((r) => r.id === 'admin-1')).toBe(false);
  });

  it('with no filter returns every record and skips checkpoints, reporting the torn tail', async () => {
    const bad: number[] = [];
    const got = await collect({}, (line) => bad.push(line));
    expect(got).toHaveLength(N);
    expect(bad).toEqual([N + N / 10_000 + 1]);
  });

  it('rejects an unparseable time bound', async () => {
    await expect(collect({ from: 'last tuesday' })).rejects.toThrow(RangeError);
  });

  it('the generated log verifies up to its torn tail', async () => {
    const { readFile } = await import('node:fs/promises');
    const result = await verifyLog(await readFile(file, 'utf8'), { keys: [signer.publicJwk] });
    expect(result).toMatchObject({ ok: false, line: N + 11, problem: expect.stringContaining('torn') as string });
  });
});
