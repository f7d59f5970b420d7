import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, isCanonicallyOrdered } from '../../src/attribution/canonical-json.js';
import { EMPTY_CHAIN, GENESIS_HASH, chainRecord, chainRecordLine, headOf, hashOf, signCheckpoint } from '../../src/attribution/chain.js';
import type { AttributionRecord } from '../../src/attribution/record.js';
import { verifyLog } from '../../src/attribution/verify.js';
import { deepSorted, makeRecord, testSigner } from './helpers.js';

describe('canonicalJson', () => {
  it('sorts keys at every level, drops undefined members and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x', null, undefined], c: true }, e: undefined })).toBe('{"a":{"c":true,"d":[1,"x",null,null]},"b":1}');
  });
  it('gives the same text whatever the key insertion order', () => {
    expect(canonicalJson({ x: 1, y: { p: 2, q: 3 } })).toBe(canonicalJson({ y: { q: 3, p: 2 }, x: 1 }));
  });
  it('rejects values JSON cannot represent', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
  });
});

describe('chainRecord', () => {
  it('starts at seq 1 from the genesis hash and links each record to the one before', () => {
    const first = chainRecord(makeRecord(1), EMPTY_CHAIN);
    const second = chainRecord(makeRecord(2), headOf(first));
    expect(first.seq).toBe(1);
    expect(first.prev).toBe(GENESIS_HASH);
    expect(second.seq).toBe(2);
    expect(second.prev).toBe(first.hash);
    const { hash, ...body } = second;
    expect(hashOf(body)).toBe(hash);
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/u);
  });
  it('is pure: same input, same output, input untouched', () => {
    const record = makeRecord(3);
    const copy = structuredClone(record);
    expect(chainRecord(record, { seq: 9, hash: 'h' })).toEqual(chainRecord(record, { seq: 9, hash: 'h' }));
    expect(record).toEqual(copy);
  });
  it('changes the hash when any field or the predecessor changes', () => {
    const base = chainRecord(makeRecord(4), EMPTY_CHAIN).hash;
    expect(chainRecord({ ...makeRecord(4), reason: 'other' }, EMPTY_CHAIN).hash).not.toBe(base);
    expect(chainRecord(makeRecord(4), { seq: 0, hash: 'x' }).hash).not.toBe(base);
  });
});

describe('signCheckpoint', () => {
  it('produces a chained checkpoint over the head that verifies under the public key only', async () => {
    const signer = await testSigner();
    const r = chainRecord(makeRecord(1), EMPTY_CHAIN);
    const cp = await signCheckpoint(headOf(r), signer, new Date('2026-11-23T00:00:00Z'));
    expect(cp).toMatchObject({ type: 'checkpoint', seq: 2, prev: r.hash, head: r.hash, count: 1, kid: signer.kid, time: '2026-11-23T00:00:00.000Z' });
    expect(cp.sig).toMatch(/^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/u);
    const text = `${canonicalJson(r)}\n${canonicalJson(cp)}\n`;
    await expect(verifyLog(text, { keys: [signer.publicJwk] })).resolves.toMatchObject({ ok: true, records: 1, checkpoints: 1, unproven: 0 });
  });
});

describe('chainRecordLine (the sinks\' single-serialisation fast path)', () => {
  it('writes exactly canonicalJson(chainRecord(record, prev)), with the same hash', () => {
    const head = { seq: 41, hash: hashOf({ any: 'thing' }) };
    const record = makeRecord(7);
    const slow = chainRecord(record, head);
    expect(chainRecordLine(record, head)).toEqual({ line: canonicalJson(slow), hash: slow.hash, seq: 42 });
  });

  it('agrees with the reference for arbitrary records (keys before and after "hash", undefined members, nesting)', () => {
    // Records never carry `hash` (chainRecord would hash a body holding the stale one; the fast path drops it).
    const key = fc.oneof(fc.string(), fc.constantFrom('a', 'h', 'hasi', 'has', 'hasg', 'prev', 'seq', 'z', 'type', 'Z', '\u00e9', '__proto__', 'constructor')).filter((k) => k !== 'hash');
    const record = fc.dictionary(key, fc.oneof(fc.jsonValue(), fc.constant(undefined)), { maxKeys: 12 });
    fc.assert(fc.property(record, fc.nat(), (r, seq) => {
      const head = { seq, hash: GENESIS_HASH };
      const slow = chainRecord(r as unknown as AttributionRecord, head);
      const fast = chainRecordLine(r as unknown as AttributionRecord, head);
      expect(fast.line).toBe(canonicalJson(slow));
      expect(fast.hash).toBe(slow.hash);
    }), { numRuns: 500 });
  });

  it('agrees with the reference for records already in canonical order (one JSON.stringify, hash spliced in)', () => {
    const key = fc.oneof(fc.string(), fc.constantFrom('a', 'h', 'hasi', 'has', 'hasg', 'prev', 'seq', 'z', 'type', 'Z', '10', '9', '__proto__', 'constructor')).filter((k) => k !== 'hash');
    const record = fc.dictionary(key, fc.oneof(fc.jsonValue(), fc.constant(undefined)), { maxKeys: 12 }).map(deepSorted);
    let ordered = 0;
    fc.assert(fc.property(record, fc.nat(), (r, seq) => {
      if (isCanonicallyOrdered(r)) ordered += 1;
      const head = { seq, hash: GENESIS_HASH };
      const slow = chainRecord(r as AttributionRecord, head);
      const fast = chainRecordLine(r as AttributionRecord, head);
      expect(fast.line).toBe(canonicalJson(slow));
      expect(fast.hash).toBe(slow.hash);
    }), { numRuns: 1000 });
    expect(ordered).toBeGreaterThan(500); // the fast path was what ran
  });

  it('keeps a member named `__proto__` (an own property, as JSON.parse makes it) on both paths, and the line verifies', async () => {
    // Found by the property above (seed 1416240237): assigning `__proto__` on a plain object sets its prototype,
    // so the member vanished from the fast path's body and the line lost a quote where `hash` was spliced in.
    // Such records now take the sorted path.
    const inOrder = JSON.parse('{"__proto__":"","a":1}') as AttributionRecord;
    const unordered = JSON.parse('{"z":{"__proto__":{"x":1}},"__proto__":"p","b":2}') as AttributionRecord;
    for (const record of [inOrder, unordered]) {
      const slow = chainRecord(record, EMPTY_CHAIN);
      const fast = chainRecordLine(record, EMPTY_CHAIN);
      expect(fast.line).toBe(canonicalJson(slow));
      expect(fast.line).toContain('"__proto__":');
      expect(fast.hash).toBe(slow.hash);
      await expect(verifyLog(`${fast.line}\n`, { keys: [] })).resolves.toMatchObject({ ok: true, records: 1 });
    }
    expect(isCanonicallyOrdered(inOrder)).toBe(true); // the first one is in canonical order: it reached the fast path's check
  });

  it('drops a stray `hash` member from the record, so the line still verifies', async () => {
    const stray = { ...makeRecord(1), hash: 'forged' } as unknown as AttributionRecord;
    const { line } = chainRecordLine(stray, EMPTY_CHAIN);
    expect(line).not.toContain('forged');
    await expect(verifyLog(`${line}\n`, { keys: [] })).resolves.toMatchObject({ ok: true, records: 1 });
  });
});
