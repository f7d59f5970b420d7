import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, isCanonicallyOrdered } from '../../src/attribution/canonical-json.js';
import { deepSorted } from './helpers.js';

/** The format's definition, written the slow and obvious way: the oracle for both paths of canonicalJson. */
function reference(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('not finite');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${Array.from(value as unknown[], (item) => (item === undefined ? 'null' : reference(item))).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record).sort().filter((key) => record[key] !== undefined);
    return `{${members.map((key) => `${JSON.stringify(key)}:${reference(record[key])}`).join(',')}}`;
  }
  throw new TypeError(`not representable: ${typeof value}`);
}

describe('canonicalJson: the JSON.stringify fast path', () => {
  it('equals the definition for arbitrary JSON values, in any key order', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.boolean(), (generated, sorted) => {
      const value = sorted ? deepSorted(generated) : generated;
      expect(canonicalJson(value)).toBe(reference(value));
    }), { numRuns: 2000 });
  });

  it('takes the fast path only where JSON.stringify already writes the canonical form', () => {
    fc.assert(fc.property(fc.jsonValue(), (generated) => {
      const value = deepSorted(generated);
      if (isCanonicallyOrdered(value)) expect(JSON.stringify(value)).toBe(reference(value));
    }), { numRuns: 2000 });
  });

  it('is taken for sorted plain data, and not for unsorted objects at any depth', () => {
    const sorted = { a: [1, 'x', null, { b: true, c: { d: -0, e: 1.5 } }], f: { g: 'h' }, i: undefined };
    expect(isCanonicallyOrdered(sorted)).toBe(true);
    expect(canonicalJson(sorted)).toBe('{"a":[1,"x",null,{"b":true,"c":{"d":0,"e":1.5}}],"f":{"g":"h"}}');
    expect(isCanonicallyOrdered({ a: [{ c: 1, b: 2 }] })).toBe(false);
    expect(canonicalJson({ a: [{ c: 1, b: 2 }] })).toBe('{"a":[{"b":2,"c":1}]}');
    expect(isCanonicallyOrdered(Object.assign(Object.create(null) as object, { a: 1, b: 2 }))).toBe(true);
  });

  // Each of these would make JSON.stringify write something other than the canonical form (or accept what
  // the format rejects), so none may take the fast path; the result must be the definition's.
  const cases: [string, () => unknown][] = [
    ['a non-enumerable toJSON', () => Object.defineProperty({ a: 1 }, 'toJSON', { value: () => 'hijacked', enumerable: false })],
    ['a toJSON on the prototype chain', () => Object.assign(Object.create({ toJSON: () => 'hijacked' }) as object, { a: 1 })],
    ['a Date member (toJSON)', () => ({ a: new Date(0) })],
    ['an inherited enumerable key', () => Object.assign(Object.create({ inherited: 1 }) as object, { b: 2 })],
    ['integer-like keys (for-in order is numeric, canonical order is not)', () => ({ 10: 'ten', 9: 'nine' })],
    ['holes and undefined in an array', () => ({ a: [1, , undefined, 2] })], // eslint-disable-line no-sparse-arrays
    ['a boxed string', () => ({ a: new String('ab') })],
    ['a class instance', () => ({ a: new (class Point { x = 1; y = 2 })() })],
    ['a symbol-keyed member', () => ({ a: 1, [Symbol('s')]: 2 })],
    ['an array with a toJSON of its own', () => ({ a: Object.assign([1, 2], { toJSON: () => 'hijacked' }) })],
  ];
  it.each(cases)('writes the canonical form for %s', (_name, make) => {
    const value = make();
    const expected = (() => { try { return reference(value); } catch (err) { return err; } })();
    if (expected instanceof Error) expect(() => canonicalJson(value)).toThrow(TypeError);
    else {
      expect(canonicalJson(value)).toBe(expected);
      expect(expected).not.toContain('hijacked');
    }
  });

  it('rejects what the format cannot represent even inside sorted data (JSON.stringify would not)', () => {
    expect(() => canonicalJson({ a: Number.POSITIVE_INFINITY, b: 1 })).toThrow(TypeError);
    expect(() => canonicalJson({ a: [1, () => 2] })).toThrow(TypeError);
    expect(() => canonicalJson({ a: [Symbol('s')] })).toThrow(TypeError);
    expect(() => canonicalJson({ a: 1n })).toThrow(TypeError);
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });
});
