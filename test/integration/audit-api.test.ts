/** The admin API's audit query over a real chained log: filters, order, limits, authentication. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { JsonlFileSink } from '../../src/attribution/jsonl-file-sink.js';
import { rotatedFiles } from '../../src/attribution/log-files.js';
import type { ExchangeRecord } from '../../src/attribution/record.js';
import { reserveBroker, type RunningTestBroker } from '../support/broker-harness.js';
import { testCatalog } from '../support/catalog.js';

let broker: RunningTestBroker;
let admin: { key: string; hash: string };

function record(i: number, agent: string, sub: string, decision: 'granted' | 'denied'): ExchangeRecord {
  return {
    v: 1, type: 'token_exchange', id: `r${String(i)}`, time: new Date(Date.UTC(2026, 10, 17, 0, i)).toISOString(), request_id: `q${String(i)}`,
    decision, reason: decision === 'granted' ? 'granted' : 'scope_empty_after_narrowing', ...(decision === 'denied' ? { error: 'invalid_scope' } : {}),
    agent: { client_id: agent, authenticated: true }, user: { iss: 'https://idp.example', sub },
    tool: { id: 'crm', resource: 'https://crm.example.test/api' }, caller: { address: '127.0.0.1' },
  };
}

beforeAll(async () => {
  admin = await createAdminKey('auditor');
  const file = join(await mkdtemp(join(tmpdir(), 'audit-api-')), 'attribution.jsonl');
  // Rotating at 4 KB spreads the records over several files: the API must read them all, in order.
  const sink = new JsonlFileSink(file, { rotate: { maxBytes: 4096 } });
  for (let i = 0; i < 60; i += 1) await sink.append(record(i, i % 3 === 0 ? 'agent-x' : 'agent-z', i % 2 === 0 ? 'alice' : 'bob', i % 5 === 0 ? 'denied' : 'granted'));
  await sink.close();
  expect((await rotatedFiles(file)).length).toBeGreaterThan(3);
  const reserved = await reserveBroker();
  broker = await reserved.start({ trustedIssuers: [], catalog: testCatalog(), agents: [], config: { adminKeys: [{ id: 'auditor', hash: admin.hash }], attribution: { file } } });
});
afterAll(async () => { await broker.close(); });

async function audit(query: string, key = admin.key): Promise<{ status: number; records: ExchangeRecord[]; count: string | null }> {
  const res = await fetch(`${broker.issuer}/admin/audit?${query}`, { headers: { authorization: `Bearer ${key}` } });
  const text = await res.text();
  return { status: res.status, records: res.ok ? text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as ExchangeRecord) : [], count: res.headers.get('x-result-count') };
}

describe('GET /admin/audit', () => {
  it('answers "everything agent X did for user Y between T1 and T2", in order', async () => {
    const res = await audit('agent=agent-x&user=alice&from=2026-11-17T00:10:00Z&to=2026-11-17T00:40:00Z');
    expect(res.status).toBe(200);
    const expected = Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 3 === 0 && i % 2 === 0 && i >= 10 && i < 40).map((i) => `r${String(i)}`);
    expect(res.records.map((r) => r.id)).toEqual(expected);
    expect(res.count).toBe(String(expected.length));
  });

  it('filters by decision and honours the limit', async () => {
    const denied = await audit('decision=denied');
    expect(denied.records.map((r) => r.id)).toEqual(Array.from({ length: 12 }, (_, k) => `r${String(k * 5)}`));
    const all = await audit('limit=1000');
    expect(all.records.map((r) => r.id)).toEqual(Array.from({ length: 60 }, (_, i) => `r${String(i)}`));
    expect((await audit('limit=7')).records).toHaveLength(7);
  });

  it('refuses bad filters and callers without an admin key', async () => {
    expect((await audit('decision=maybe')).status).toBe(400);
    expect((await audit('from=yesterday')).status).toBe(400);
    expect((await audit('agent=agent-x', 'auditor.not-the-right-secret-at-all')).status).toBe(401);
  });
});
