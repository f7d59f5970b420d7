/** The pure tally of unauthenticated denials and the aggregate records made from it. */
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/attribution/canonical-json.js';
import { aggregateRecords, emptyTally, OVERFLOW_SOURCE, restoreAggregate, tallyDenial } from '../../src/token-endpoint/denial-tally.js';

const T0 = Date.parse('2026-12-03T12:00:00.000Z');

describe('denial tally', () => {
  it('one record per address with exact counts per reason and per named client, first and last', () => {
    const tally = emptyTally(100);
    for (let i = 0; i < 7; i += 1) tallyDenial(tally, { address: '10.0.0.1', reason: 'client_authentication_failed', clientId: 'crm-agent', atMs: T0 + i });
    for (let i = 0; i < 3; i += 1) tallyDenial(tally, { address: '10.0.0.1', reason: 'agent_unknown', clientId: null, atMs: T0 + 100 + i });
    tallyDenial(tally, { address: '10.0.0.2', reason: 'request_method', clientId: null, atMs: T0 + 50 });
    const records = aggregateRecords(tally, T0 + 10_000);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      type: 'token_exchange_aggregate', decision: 'denied', v: 1, time: '2026-12-03T12:00:10.000Z',
      agent: { authenticated: false, client_id: null }, caller: { address: '10.0.0.1' },
      aggregate: { count: 10, reasons: { agent_unknown: 3, client_authentication_failed: 7 }, clients: { 'crm-agent': 7 }, first: '2026-12-03T12:00:00.000Z', last: '2026-12-03T12:00:00.102Z' },
    });
    expect(records[1]?.aggregate).toEqual({ count: 1, reasons: { request_method: 1 }, first: '2026-12-03T12:00:00.050Z', last: '2026-12-03T12:00:00.050Z' });
  });

  it('builds records in canonical member order (one stringify in the sink)', () => {
    const tally = emptyTally(10);
    tallyDenial(tally, { address: 'a', reason: 'z_reason', clientId: 'c', atMs: T0 });
    tallyDenial(tally, { address: 'a', reason: 'a_reason', clientId: 'b', atMs: T0 });
    const [record] = aggregateRecords(tally, T0);
    expect(JSON.stringify(record)).toBe(canonicalJson(record));
  });

  it('is bounded: addresses beyond maxSources are counted together under *, nothing is dropped', () => {
    const tally = emptyTally(3);
    for (let i = 0; i < 10; i += 1) tallyDenial(tally, { address: `10.0.0.${String(i)}`, reason: 'client_authentication_missing', clientId: null, atMs: T0 });
    tallyDenial(tally, { address: '10.0.0.1', reason: 'client_authentication_missing', clientId: null, atMs: T0 }); // known: its own entry
    expect(tally.sources.size).toBe(4);
    expect(tally.sources.get(OVERFLOW_SOURCE)?.count).toBe(7);
    expect(tally.sources.get('10.0.0.1')?.count).toBe(2);
    expect(aggregateRecords(tally, T0).reduce((n, r) => n + r.aggregate.count, 0)).toBe(11);
  });

  it('restoring a record that could not be written puts back exactly its counts', () => {
    const tally = emptyTally(10);
    for (let i = 0; i < 4; i += 1) tallyDenial(tally, { address: 'a', reason: 'client_authentication_failed', clientId: 'x', atMs: T0 + i });
    tallyDenial(tally, { address: 'a', reason: 'source_rate_limited', clientId: null, atMs: T0 + 9 });
    const [record] = aggregateRecords(tally, T0 + 10);
    const next = emptyTally(10);
    tallyDenial(next, { address: 'a', reason: 'source_rate_limited', clientId: null, atMs: T0 + 20 });
    restoreAggregate(next, record!);
    const [merged] = aggregateRecords(next, T0 + 30);
    expect(merged?.aggregate).toEqual({
      count: 6, reasons: { client_authentication_failed: 4, source_rate_limited: 2 }, clients: { x: 4 },
      first: new Date(T0).toISOString(), last: new Date(T0 + 20).toISOString(),
    });
  });
});
