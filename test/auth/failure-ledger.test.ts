/** Failed key authentications: one aggregated record per source and interval, never one per failure. */
import { describe, expect, it } from 'vitest';
import { FailureLedger, type AuthenticationFailuresRecord } from '../../src/auth/failure-ledger.js';
import type { AttributionRecord } from '../../src/attribution/record.js';

function ledger(records: AttributionRecord[], warnings: unknown[], fail = false) {
  return new FailureLedger({
    sink: { append: (r) => (fail ? Promise.reject(new Error('disk full')) : (records.push(r), Promise.resolve())) },
    log: { warn: (obj: unknown) => { warnings.push(obj); }, error: (obj: unknown) => { warnings.push(obj); } } as never,
    now: () => Date.parse('2026-12-03T12:00:00Z'),
    intervalMs: 3_600_000,
  });
}

describe('FailureLedger', () => {
  it('aggregates 231 failures from one source into one record with counts per reason and id', async () => {
    const records: AttributionRecord[] = [];
    const warnings: unknown[] = [];
    const l = ledger(records, warnings);
    for (let i = 0; i < 231; i += 1) l.failed('admin', '10.1.1.1', i % 3 === 0 ? 'unknown_id' : 'wrong_secret', i % 3 === 0 ? `guess-${i}` : 'oncall');
    l.failed('validator', '10.1.1.1', 'missing');
    l.failed('admin', '10.9.9.9', 'malformed');
    expect(records).toHaveLength(0); // nothing written per failure
    expect(warnings).toHaveLength(3); // the first failure of each source is logged at once
    await l.close();
    expect(records).toHaveLength(3);
    const admin = records.find((r) => r.type === 'authentication_failures' && r.surface === 'admin' && r.caller.address === '10.1.1.1') as AuthenticationFailuresRecord;
    expect(admin).toMatchObject({ v: 1, type: 'authentication_failures', count: 231, reasons: { unknown_id: 77, wrong_secret: 154 } });
    expect(Object.keys(admin.ids)).toHaveLength(21); // 20 distinct ids, the rest under '*'
    expect(Object.values(admin.ids).reduce((a, b) => a + b, 0)).toBe(231);
    expect(admin.ids.oncall).toBe(154);
  });

  it('never records a malformed id as given (it may be a pasted key)', async () => {
    const records: AttributionRecord[] = [];
    const l = ledger(records, []);
    l.failed('admin', '10.1.1.1', 'unknown_id', 'has spaces and a secret');
    l.failed('admin', '10.1.1.1', 'unknown_id', '__proto__');
    await l.close();
    const { ids } = records[0] as AuthenticationFailuresRecord;
    expect(Object.entries(ids)).toEqual([['?', 1], ['__proto__', 1]]);
  });

  it('logs, and does not throw, when the record cannot be written', async () => {
    const warnings: unknown[] = [];
    const l = ledger([], warnings, true);
    l.failed('admin', '10.1.1.1', 'wrong_secret', 'oncall');
    await expect(l.close()).resolves.toBeUndefined();
    expect(warnings).toHaveLength(2);
  });
});
