import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFormEncoding, isUtf8FormBody } from '../../../../src/token-endpoint/steps/framing/form-encoding.js';

const RUNS = { numRuns: 500 };
const ascii = (s: string) => new TextEncoder().encode(s);
/** What the oracle says: every name and value of the form, percent-decoded to bytes, is valid UTF-8. */
function oracle(body: Uint8Array): boolean {
  const text = Buffer.from(body).toString('latin1');
  const decoded = Buffer.from(text.replace(/%([0-9A-Fa-f]{2})/gu, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  return isWellFormed(decoded);
}
function isWellFormed(bytes: Uint8Array): boolean {
  // Round-trip through the lenient decoder (keeping a BOM): well-formed UTF-8 is exactly what survives unchanged.
  return Buffer.compare(Buffer.from(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes), 'utf8'), Buffer.from(bytes)) === 0;
}

describe('isUtf8FormBody', () => {
  it('accepts plain ASCII bodies and escapes of ASCII bytes', () => {
    expect(isUtf8FormBody(ascii(''))).toBe(true);
    expect(isUtf8FormBody(ascii('grant_type=urn%3Aietf%3Aparams&scope=a+b&resource=https%3A%2F%2Fcrm.example%2Fapi'))).toBe(true);
    expect(isUtf8FormBody(ascii('a=%7F%00%25'))).toBe(true);
  });

  it('accepts valid multi-byte UTF-8, escaped (either case of hex) or raw', () => {
    expect(isUtf8FormBody(ascii('note=%E2%9C%93&k=%f0%9f%94%91'))).toBe(true);
    expect(isUtf8FormBody(new TextEncoder().encode('note=café ✓ 🔑'))).toBe(true);
  });

  it('leaves malformed escapes literal, as querystring does', () => {
    expect(isUtf8FormBody(ascii('a=%zz&b=%&c=%8'))).toBe(true);
    expect(isUtf8FormBody(ascii('a=%%FF'))).toBe(false);
  });

  it.each([
    ['a lone continuation byte', 'a=%80'],
    ['0xFF', 'a=%FF'],
    ['an overlong encoding', 'a=%C0%AF'],
    ['a UTF-16 surrogate', 'a=%ED%A0%80'],
    ['a code point above U+10FFFF', 'a=%F4%90%80%80'],
    ['a sequence cut at the end', 'a=%E2%82'],
    ['a sequence cut by a separator', 'a=%E2%82&b=%AC'],
    ['a sequence cut between name and value', 'a%E2=%82%AC'],
    ['in a parameter name', 'n%C3=1'],
    ['an escaped lead byte followed by a raw ASCII byte', 'a=%C3('],
  ])('refuses %s', (_name, body) => {
    expect(isUtf8FormBody(ascii(body))).toBe(false);
  });

  it('refuses raw invalid bytes', () => {
    expect(isUtf8FormBody(Uint8Array.from([0x61, 0x3d, 0xff]))).toBe(false);
    expect(isUtf8FormBody(Uint8Array.from([0x61, 0x3d, 0xc3]))).toBe(false);
  });

  it('agrees with decoding each name and value separately, on arbitrary bytes and escapes', () => {
    const piece = fc.oneof(
      fc.constantFrom('&', '=', '+', 'a', '%', '%2', '%zz'),
      fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, '0')}`),
      fc.string({ unit: 'grapheme', maxLength: 3 }),
    );
    const rawByte = fc.integer({ min: 0, max: 255 }).map((b) => Uint8Array.of(b));
    const body = fc.array(fc.oneof(piece.map((p) => new TextEncoder().encode(p)), rawByte), { maxLength: 24 })
      .map((parts) => Uint8Array.from(parts.flatMap((p) => [...p])));
    fc.assert(
      fc.property(body, (b) => {
        const perPart = Buffer.from(b).toString('latin1').split('&').flatMap((pair) => pair.split('='))
          .every((part) => oracle(Buffer.from(part, 'latin1')));
        expect(isUtf8FormBody(b)).toBe(perPart);
      }),
      RUNS,
    );
  });

  it('is linear: a 48 KiB body of escapes is checked in well under a millisecond per KiB', () => {
    const body = ascii('note='.concat('%E2%9C%93'.repeat(5400)));
    const started = performance.now();
    for (let i = 0; i < 20; i += 1) expect(isUtf8FormBody(body)).toBe(true);
    expect((performance.now() - started) / 20).toBeLessThan(48);
  });
});

describe('checkFormEncoding', () => {
  it('is null for a valid body and a 400 request_malformed invalid_request otherwise', () => {
    expect(checkFormEncoding(ascii('a=1'))).toBeNull();
    expect(checkFormEncoding(ascii('a=%FF'))).toMatchObject({ status: 400, denial: { reason: 'request_malformed', error: 'invalid_request' } });
  });
});
