/**
 * The strict JSON scanner against JSON.parse, the reference for RFC 8259: on generated JSON (with random
 * whitespace and escaped spellings), on mutations of it, on duplicate member names hidden behind escapes,
 * and at the depth bound.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanJson } from '../../src/jwt/json-scan.js';

const WS = fc.constantFrom('', ' ', '\t', '\n', '\r', '  ');

/** A JSON string literal for `s`, each character written raw, as \uXXXX or (where one exists) a short escape. */
function spell(s: string, choices: readonly number[]): string {
  let out = '"';
  for (let i = 0; i < s.length; i += 1) {
    const ch = s[i]!;
    const code = s.charCodeAt(i);
    const choice = choices[i % Math.max(1, choices.length)] ?? 0;
    const mustEscape = code < 0x20 || ch === '"' || ch === '\\';
    if (choice % 3 === 1 || (mustEscape && choice % 3 === 0)) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else if (mustEscape || (choice % 3 === 2 && ch === '/')) out += JSON.stringify(ch).slice(1, -1).replace('/', '\\/');
    else out += ch;
  }
  return `${out}"`;
}

/** JSON.stringify with random insignificant whitespace and random escape spellings of every string. */
function render(value: unknown, ws: readonly string[], choices: readonly number[], n = { i: 0 }): string {
  const w = () => ws[(n.i += 1) % ws.length] ?? '';
  if (typeof value === 'string') return spell(value, choices.slice(n.i % choices.length));
  if (Array.isArray(value)) return `[${w()}${value.map((v) => `${w()}${render(v, ws, choices, n)}${w()}`).join(',')}${w()}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value).map(([k, v]) => `${w()}${spell(k, choices.slice((n.i += 1) % Math.max(1, choices.length)))}${w()}:${w()}${render(v, ws, choices, n)}${w()}`);
    return `{${w()}${members.join(',')}${w()}}`;
  }
  return JSON.stringify(value);
}

const jsonText = fc.record({
  value: fc.jsonValue({ maxDepth: 6 }),
  ws: fc.array(WS, { minLength: 1, maxLength: 8 }),
  choices: fc.array(fc.nat(8), { minLength: 1, maxLength: 8 }),
}).map(({ value, ws, choices }) => ({ value, text: `${ws[0]}${render(value, ws, choices)}${ws[ws.length - 1]}` }));

const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe('scanJson', () => {
  it('accepts every generated JSON text, in any spelling, and JSON.parse reads the same value', () => {
    fc.assert(fc.property(jsonText, ({ value, text }) => {
      expect(scanJson(text, 32)).toEqual({ ok: true });
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
    }), { numRuns: 1000 });
  });

  it('agrees with JSON.parse on mutated texts, except that it also refuses duplicate names', () => {
    const alphabet = fc.constantFrom(...'{}[]",:.-+eE0123456789 \t\n\\u/abfnrtx\u0000\u001f\u00e9\ufeff'.split(''), 'true', 'null', '\\u0041');
    const mutated = fc.tuple(jsonText, fc.array(fc.tuple(fc.nat(), fc.nat(3), alphabet), { minLength: 1, maxLength: 3 }))
      .map(([{ text }, edits]) => {
        let t = text;
        for (const [at, kind, piece] of edits) {
          const i = t.length === 0 ? 0 : at % (t.length + 1);
          t = kind === 0 ? t.slice(0, i) + t.slice(i + 1) : kind === 1 ? t.slice(0, i) + piece + t.slice(i) : t.slice(0, i) + piece + t.slice(i + 1);
        }
        return t;
      });
    fc.assert(fc.property(mutated, (text) => {
      const scanned = scanJson(text, 1000);
      if (scanned.ok) expect(parses(text), text).toBe(true);
      else if (parses(text)) expect(scanned.problem, text).toBe('duplicate_member');
      // Not JSON: refused, as a syntax error or for a duplicate name met before the syntax error.
      else expect(['syntax', 'duplicate_member'], text).toContain(scanned.problem);
    }), { numRuns: 3000 });
  });

  it('refuses a duplicate member name at any depth, whatever its spelling', () => {
    const name = fc.string({ minLength: 1, maxLength: 6, unit: fc.constantFrom('s', 'u', 'b', '"', '\\', '/', '\u00e9', '\u0001', '\u{1F600}') });
    fc.assert(fc.property(name, fc.array(fc.nat(8), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(8), { minLength: 1, maxLength: 6 }), fc.nat(20), fc.boolean(),
      (key, a, b, depth, viaArray) => {
        let text = `{${spell(key, a)}:1,"other":[],${spell(key, b)}:{"x":null}}`;
        for (let i = 0; i < depth; i += 1) text = viaArray ? `[0,${text}]` : `{"k${i}":${text}}`;
        const scanned = scanJson(text, 32);
        expect(scanned.ok ? undefined : scanned.problem).toBe('duplicate_member');
        expect(parses(text)).toBe(true);
      }), { numRuns: 1000 });
  });

  it('treats "s\\u0075b" as a duplicate of "sub", and different names as different', () => {
    expect(scanJson('{"sub":"alice","s\\u0075b":"mallory"}', 32)).toMatchObject({ ok: false, problem: 'duplicate_member' });
    expect(scanJson('{"sub":"alice","\\u0073\\u0075\\u0062":"mallory"}', 32)).toMatchObject({ ok: false, problem: 'duplicate_member' });
    expect(scanJson('{"sub":"alice","a":{"sub":"x"},"b":[{"sub":1},{"sub":2}]}', 32)).toEqual({ ok: true });
    expect(scanJson('{"sub":"alice","Sub":"x","sub ":"y"}', 32)).toEqual({ ok: true });
  });

  it('bounds nesting: 32 levels of objects or arrays pass, 33 are refused', () => {
    fc.assert(fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), (kinds) => {
      let text = '1';
      for (const isObject of kinds) text = isObject ? `{"a":${text}}` : `[${text}]`;
      const scanned = scanJson(text, 32);
      if (kinds.length <= 32) expect(scanned).toEqual({ ok: true });
      else expect(scanned).toMatchObject({ ok: false, problem: 'too_deep' });
    }), { numRuns: 500 });
  });

  it('refuses a deep text fast, without walking it (linear, no recursion beyond the bound)', () => {
    const deep = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    const started = performance.now();
    expect(scanJson(deep, 32)).toMatchObject({ ok: false, problem: 'too_deep', at: 32 });
    expect(performance.now() - started).toBeLessThan(50);
  });

  it.each([
    ['empty', ''], ['BOM', '\ufeff{}'], ['trailing comma', '{"a":1,}'], ['leading zero', '[01]'], ['bare minus', '[-]'],
    ['NaN', '[NaN]'], ['single quotes', "{'a':1}"], ['comment', '{} // x'], ['two values', '{} {}'], ['raw control char', '["a\u0001"]'],
    ['bad escape', '["\\x41"]'], ['short unicode escape', '["\\u41"]'], ['unterminated', '{"a":"b'], ['NBSP as whitespace', '{\u00a0}'],
    ['dot without digits', '[1.]'], ['exponent without digits', '[1e]'], ['plus sign', '[+1]'], ['unquoted name', '{a:1}'],
  ])('refuses %s exactly as JSON.parse does', (_name, text) => {
    expect(parses(text)).toBe(false);
    expect(scanJson(text, 32)).toMatchObject({ ok: false, problem: 'syntax' });
  });
});
