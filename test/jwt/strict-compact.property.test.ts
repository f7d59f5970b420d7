/**
 * The strict compact-JWS pre-parser (RFC 7515 §2, §4, §7.1): every well-formed token round-trips to the
 * header and claims it was made of, and every mutation class is refused with its stable problem code.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { isStrictBase64url, parseStrictJwt, type StrictJwtOptions, type StrictJwtProblem } from '../../src/jwt/strict-compact.js';

const NOW_MS = 1_800_000_000_000;
const OPTS = { nowMs: NOW_MS, clockSkewSeconds: 10 };
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64url');
const token = (header: string, payload: string, signature = b64(Buffer.alloc(64, 7))) => `${b64(header)}.${b64(payload)}.${signature}`;
const GOOD_HEADER = '{"alg":"ES256","typ":"at+jwt","kid":"k1"}';
const GOOD_PAYLOAD = JSON.stringify({ iss: 'https://idp.example', sub: 'alice', aud: 'broker', iat: NOW_MS / 1000, exp: NOW_MS / 1000 + 300 });
const GOOD = token(GOOD_HEADER, GOOD_PAYLOAD);

const problem = (t: string, opts: StrictJwtOptions = OPTS): StrictJwtProblem | undefined => {
  const r = parseStrictJwt(t, opts);
  return r.ok ? undefined : r.problem;
};

const claims = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 8 })
  .map((c) => ({ ...c, iat: NOW_MS / 1000 - 5 }));
const header = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
  .map((h) => ({ ...h, alg: 'ES256' }));
const signature = fc.uint8Array({ minLength: 0, maxLength: 96 }).map((s) => b64(Buffer.from(s)));

describe('round trips', () => {
  it('parses every well-formed token to the header and claims it carries, as jose reads them', () => {
    fc.assert(fc.property(header, claims, signature, (h, c, s) => {
      const t = token(JSON.stringify(h), JSON.stringify(c), s);
      const parsed = parseStrictJwt(t, OPTS);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(parsed.header).toEqual(JSON.parse(JSON.stringify(h)));
      expect(parsed.payload).toEqual(JSON.parse(JSON.stringify(c)));
      expect(parsed.signingInput).toBe(t.slice(0, t.lastIndexOf('.')));
      expect(parsed.signature).toBe(s);
      expect(parsed.header).toEqual(decodeProtectedHeader(t));
      expect(parsed.payload).toEqual(decodeJwt(t));
    }), { numRuns: 500 });
  });

  it('accepts iat up to the clock skew ahead, and tokens without iat', () => {
    expect(problem(token(GOOD_HEADER, JSON.stringify({ sub: 'a', iat: NOW_MS / 1000 + 10 })))).toBeUndefined();
    expect(problem(token(GOOD_HEADER, JSON.stringify({ sub: 'a' })))).toBeUndefined();
  });

  it('canonical base64url: every encoding of bytes passes, every non-canonical spelling fails', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(63), (bytes, flip) => {
      const s = b64(Buffer.from(bytes));
      expect(isStrictBase64url(s)).toBe(true);
      if (s.length % 4 === 0) return;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const variant = s.slice(0, -1) + alphabet[flip]!;
      // Strict exactly when the variant is the one encoding of the bytes it decodes to.
      expect(isStrictBase64url(variant)).toBe(b64(Buffer.from(variant, 'base64url')) === variant);
    }), { numRuns: 500 });
  });
});

/** Inserts `piece` into segment `seg` (0 header, 1 payload, 2 signature) at a position chosen by `at`. */
function insertInto(t: string, seg: number, at: number, piece: string): string {
  const parts = t.split('.');
  const s = parts[seg]!;
  const i = 1 + (at % Math.max(1, s.length - 1));
  parts[seg] = s.slice(0, i) + piece + s.slice(i);
  return parts.join('.');
}

describe('every mutation class is refused', () => {
  const anyToken = fc.tuple(header, claims, signature.filter((s) => s.length > 2)).map(([h, c, s]) => token(JSON.stringify(h), JSON.stringify(c), s));

  it('whitespace or a line break anywhere inside a segment', () => {
    fc.assert(fc.property(anyToken, fc.nat(2), fc.nat(), fc.constantFrom(' ', '\t', '\n', '\r\n', '\r', '\u00a0'), (t, seg, at, ws) => {
      expect(problem(insertInto(t, seg, at, ws))).toBe('base64url');
    }), { numRuns: 300 });
    expect(problem(` ${GOOD}`)).toBe('base64url');
    expect(problem(`${GOOD}\n`)).toBe('base64url');
  });

  it('= padding on any segment', () => {
    fc.assert(fc.property(anyToken, fc.nat(2), fc.constantFrom('=', '=='), (t, seg, pad) => {
      const parts = t.split('.');
      parts[seg] = `${parts[seg] ?? ''}${pad}`;
      expect(problem(parts.join('.'))).toBe('base64url');
    }), { numRuns: 200 });
  });

  it('+ or / (the base64 alphabet) instead of - or _', () => {
    fc.assert(fc.property(anyToken, fc.nat(2), fc.nat(), fc.constantFrom('+', '/', '%', '!'), (t, seg, at, ch) => {
      const parts = t.split('.');
      const s = parts[seg]!;
      const i = at % s.length;
      parts[seg] = s.slice(0, i) + ch + s.slice(i + 1);
      expect(problem(parts.join('.'))).toBe('base64url');
    }), { numRuns: 200 });
  });

  it('two, four or six and more segments; five well-formed ones are a JWE', () => {
    const [h, p, s] = GOOD.split('.') as [string, string, string];
    expect(problem(`${h}.${p}`)).toBe('segments');
    expect(problem(`${h}.${p}.${s}.${s}`)).toBe('segments');
    expect(problem(`${GOOD}.AAAA.BBBB.CCCC`)).toBe('segments');
    expect(problem(h)).toBe('segments');
    expect(problem(`${GOOD}.AAAA`)).toBe('segments');
    expect(problem(`${GOOD}.AAAA.BBBB`)).toBe('encrypted');
    expect(problem(`${GOOD}.AA=A.BBBB`)).toBe('base64url');
    expect(problem(`.${p}.${s}`)).toBe('base64url');
    expect(problem(`${h}..${s}`)).toBe('base64url');
  });

  it('a duplicate member name in the header or the claims, escaped or not, at any depth', () => {
    expect(problem(token('{"alg":"ES256","alg":"none"}', GOOD_PAYLOAD))).toBe('duplicate_member');
    expect(problem(token(GOOD_HEADER, '{"sub":"alice","sub":"mallory"}'))).toBe('duplicate_member');
    expect(problem(token(GOOD_HEADER, '{"sub":"alice","s\\u0075b":"mallory"}'))).toBe('duplicate_member');
    expect(problem(token(GOOD_HEADER, '{"sub":"alice","act":{"sub":"a","sub":"b"}}'))).toBe('duplicate_member');
    expect(problem(token('{"alg":"ES256","jwk":{"kty":"EC","x":"1","x":"2"}}', GOOD_PAYLOAD))).toBe('duplicate_member');
  });

  it('JSON nested deeper than 32 in the header or the claims', () => {
    const nest = (n: number) => `${'['.repeat(n - 1)}1${']'.repeat(n - 1)}`;
    // The claims object itself is level 1: nest(n) puts a value at level n.
    expect(problem(token(GOOD_HEADER, `{"sub":"a","x":${nest(32)}}`))).toBeUndefined();
    expect(problem(token(GOOD_HEADER, `{"sub":"a","x":${nest(33)}}`))).toBe('too_deep');
    expect(problem(token(`{"alg":"ES256","x":${nest(33)}}`, GOOD_PAYLOAD))).toBe('too_deep');
  });

  it('iat later than now + the clock skew', () => {
    fc.assert(fc.property(fc.integer({ min: 11, max: 10 ** 9 }), (ahead) => {
      expect(problem(token(GOOD_HEADER, JSON.stringify({ sub: 'a', iat: NOW_MS / 1000 + ahead })))).toBe('iat_in_future');
    }), { numRuns: 200 });
  });

  it('not UTF-8, not JSON, not an object', () => {
    expect(problem(`${b64(Buffer.from([0x7b, 0xff, 0x7d]))}.${b64(GOOD_PAYLOAD)}.AAAA`)).toBe('utf8');
    expect(problem(token(GOOD_HEADER, '\ufeff{"sub":"a"}'))).toBe('json');
    expect(problem(token(GOOD_HEADER, '{"sub":"a",}'))).toBe('json');
    expect(problem(token(GOOD_HEADER, '["alice"]'))).toBe('not_object');
    expect(problem(token('"ES256"', GOOD_PAYLOAD))).toBe('not_object');
  });

  it('a non-canonical last character (unused bits set) and an impossible length', () => {
    const [h, p, s] = GOOD.split('.') as [string, string, string];
    expect(s.length % 4).toBe(2);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const flipped = s.slice(0, -1) + alphabet[alphabet.indexOf(s.at(-1)!) + 1]!;
    expect(Buffer.from(flipped, 'base64url').equals(Buffer.from(s, 'base64url'))).toBe(true);
    expect(problem(`${h}.${p}.${flipped}`)).toBe('base64url');
    expect(problem(`${h}.${p}.${s}A`)).toBeUndefined();
    expect(problem(`${h}.${p}.${s}AAA`)).toBe('base64url');
  });

  it('a token over the size bound', () => {
    expect(problem(GOOD, { ...OPTS, maxChars: GOOD.length - 1 })).toBe('too_large');
  });

  it('refusal descriptions are ASCII and never quote the token', () => {
    const r = parseStrictJwt(token(GOOD_HEADER, '{"sub":"alice","sub":"mallory"}'), OPTS);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.description).toMatch(/^[\x20-\x7e]+$/u);
    expect(r.description).not.toContain('mallory');
    expect(r.part).toBe('payload');
  });
});
