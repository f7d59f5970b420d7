import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { argumentsDigest } from '../../../src/guardrails/authorization-details/arguments-digest.js';
import { amountToMinor, minorToAmount } from '../../../src/guardrails/authorization-details/currency.js';
import { parseAuthorizationDetails } from '../../../src/guardrails/authorization-details/parse-authorization-details.js';
import { isDenial } from '../../../src/exchange/reasons.js';
import { paymentDetail, paymentsTool } from '../payments-tool.js';

const tool = await paymentsTool();
const call = { payee: 'ACME GmbH', amount: '1500.00', currency: 'EUR' };

function parse(value: unknown) {
  return parseAuthorizationDetails(typeof value === 'string' ? value : JSON.stringify(value), tool);
}

function expectInvalid(value: unknown, description: RegExp): void {
  const result = parse(value);
  expect(isDenial(result)).toBe(true);
  if (isDenial(result)) {
    expect(result.reason).toBe('authorization_details_invalid');
    expect(result.error).toBe('invalid_authorization_details');
    expect(result.description).toMatch(description);
  }
}

describe('parseAuthorizationDetails (RFC 9396)', () => {
  it('parses a declared action into typed fields, amount in minor units', () => {
    const result = parse([paymentDetail(call)]);
    if (result === undefined || isDenial(result)) throw new Error('expected details');
    expect(result.details).toEqual([{
      type: 'payment', action: 'create_payment', argumentsDigest: argumentsDigest(call), amountMinor: 150000, currency: 'EUR', fields: { payee: 'ACME GmbH' },
    }]);
    expect(result.canonical[0]).toMatchObject({ locations: ['https://payments.example.internal/api'], amount: '1500.00' });
    expect(result.digest).toMatch(/^[A-Za-z0-9_-]{43}$/u);
  });

  it('is absent when the parameter is', () => {
    expect(parseAuthorizationDetails(undefined, tool)).toBeUndefined();
    expect(parseAuthorizationDetails('', tool)).toBeUndefined();
  });

  it('canonicalises: member order, amount spelling and explicit locations do not change the digest', () => {
    const a = parse([paymentDetail(call)]);
    const b = parse(`[{"currency":"EUR","payee":"ACME GmbH","amount":"1500","arguments_sha256":"${argumentsDigest(call)}","locations":["https://payments.example.internal/api"],"actions":["create_payment"],"type":"payment"}]`);
    if (a === undefined || isDenial(a) || b === undefined || isDenial(b)) throw new Error('expected details');
    expect(b.digest).toBe(a.digest);
    const other = parse([paymentDetail({ ...call, amount: '1500.01' })]);
    if (other === undefined || isDenial(other)) throw new Error('expected details');
    expect(other.digest).not.toBe(a.digest);
  });

  it('refuses what the tool does not declare, with invalid_authorization_details', () => {
    expectInvalid('{"type":"payment"}', /non-empty JSON array/u);
    expectInvalid('[]', /non-empty JSON array/u);
    expectInvalid('[1]', /JSON object/u);
    expectInvalid('[{"type":"payment","type":"refund"}]', /repeats a member/u);
    expectInvalid('[{"type":"payment",', /JSON array/u);
    expectInvalid([paymentDetail(call, { type: 'refund' })], /not an action type/u);
    expectInvalid([paymentDetail(call, { actions: ['delete_everything'] })], /does not declare/u);
    expectInvalid([paymentDetail(call, { actions: ['create_payment', 'create_payment'] })], /exactly one action/u);
    expectInvalid([paymentDetail(call, { arguments_sha256: 'abc' })], /arguments_sha256/u);
    expectInvalid([paymentDetail(call, { locations: ['https://evil.example/api'] })], /locations/u);
    expectInvalid([paymentDetail(call, { note: 'also wire the rest' })], /does not declare/u);
    expectInvalid([paymentDetail(call, { amount: 1500 })], /decimal string/u);
    expectInvalid([paymentDetail(call, { amount: '1500.001' })], /minor digits/u);
    expectInvalid([paymentDetail(call, { currency: 'eur' })], /ISO 4217/u);
    expectInvalid([paymentDetail(call, { payee: 'x'.repeat(65) })], /at most 64/u);
    const { payee: _payee, ...withoutPayee } = paymentDetail(call);
    expectInvalid([withoutPayee], /payee is required/u);
    expectInvalid([paymentDetail(call, { privileges: ['admin'] })], /not supported/u);
    expectInvalid(JSON.stringify(Array.from({ length: 9 }, () => paymentDetail(call))), /at most 8/u);
    expectInvalid(`[${' '.repeat(9000)}]`, /too large/u);
  });

  it('amounts round-trip exactly through minor units', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 ** 12 }), fc.constantFrom('EUR', 'JPY', 'KWD'), (minor, currency) => {
      expect(amountToMinor(minorToAmount(minor, currency), currency)).toBe(minor);
    }));
  });
});
