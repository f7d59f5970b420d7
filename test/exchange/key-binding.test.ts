/** Proof of possession for incoming bound tokens (`cnf`): read strictly, and checked against the proof key. */
import { describe, expect, it } from 'vitest';
import { decide, type DecisionInput } from '../../src/exchange/decide.js';
import { checkKeyBinding, readConfirmation } from '../../src/exchange/key-binding.js';
import { isDenial } from '../../src/exchange/reasons.js';
import { makeAgent, makeRequest, makeSubject, makeTool, NOW_MS, POLICY } from './fixtures.js';

const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const OTHER = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I';

describe('readConfirmation', () => {
  it('no cnf: not bound', () => {
    expect(readConfirmation(undefined)).toBeUndefined();
  });

  it('cnf with exactly a non-empty jkt string: bound to that key', () => {
    expect(readConfirmation({ jkt: JKT })).toEqual({ jkt: JKT });
  });

  it.each([
    [{ 'x5t#S256': 'abc' }, 'x5t#S256'],
    [{ jkt: JKT, 'x5t#S256': 'abc' }, 'x5t#S256'],
    [{ jwk: { kty: 'EC' } }, 'jwk'],
    [{}, 'malformed'],
    [{ jkt: '' }, 'malformed'],
    [{ jkt: 7 }, 'malformed'],
    ['jkt', 'malformed'],
    [null, 'malformed'],
    [[{ jkt: JKT }], 'malformed'],
  ])('anything else is a binding the broker cannot check: %j -> %s', (cnf, named) => {
    expect(readConfirmation(cnf)).toEqual({ unsupported: named });
  });

  it('names at most 64 characters of an attacker-chosen member list', () => {
    const cnf = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`member-${i}`, 1]));
    const read = readConfirmation(cnf);
    expect(read && 'unsupported' in read ? read.unsupported.length : 0).toBe(64);
  });
});

describe('checkKeyBinding', () => {
  const reason = (...args: Parameters<typeof checkKeyBinding>) => checkKeyBinding(...args)?.reason ?? 'ok';

  it('unbound tokens need no proof, and a proof does not hurt', () => {
    expect(reason(undefined, undefined, undefined)).toBe('ok');
    expect(reason(undefined, undefined, JKT)).toBe('ok');
  });

  it('a bound subject token needs a proof from its key', () => {
    expect(reason({ jkt: JKT }, undefined, JKT)).toBe('ok');
    expect(reason({ jkt: JKT }, undefined, undefined)).toBe('subject_token_key_mismatch');
    expect(reason({ jkt: JKT }, undefined, OTHER)).toBe('subject_token_key_mismatch');
    expect(reason({ unsupported: 'x5t#S256' }, undefined, JKT)).toBe('subject_token_binding_unsupported');
  });

  it('a bound actor token needs a proof from its key', () => {
    expect(reason(undefined, { jkt: JKT }, JKT)).toBe('ok');
    expect(reason(undefined, { jkt: JKT }, undefined)).toBe('actor_token_key_mismatch');
    expect(reason(undefined, { jkt: JKT }, OTHER)).toBe('actor_token_key_mismatch');
    expect(reason(undefined, { unsupported: 'jwk' }, JKT)).toBe('actor_token_invalid');
  });

  it('subject and actor bound to different keys cannot both be proven by one request', () => {
    expect(reason({ jkt: JKT }, { jkt: OTHER }, JKT)).toBe('actor_token_key_mismatch');
    expect(reason({ jkt: JKT }, { jkt: OTHER }, OTHER)).toBe('subject_token_key_mismatch');
    expect(reason({ jkt: JKT }, { jkt: JKT }, JKT)).toBe('ok');
  });

  it('surfaces as invalid_dpop_proof (RFC 9449) for a key mismatch, invalid_request for an unsupported binding', () => {
    expect(checkKeyBinding({ jkt: JKT }, undefined, undefined)?.error).toBe('invalid_dpop_proof');
    expect(checkKeyBinding({ unsupported: 'jwk' }, undefined, JKT)?.error).toBe('invalid_request');
  });
});

describe('decide with a bound subject token', () => {
  const input = (overrides: Partial<DecisionInput>): DecisionInput => ({
    request: makeRequest({ scopes: ['crm.read'] }), agent: makeAgent(), tool: makeTool({ id: 'crm' }),
    subject: makeSubject(), policy: POLICY, nowMs: NOW_MS, ...overrides,
  });

  it('refuses before granting anything when the proof key does not match', () => {
    const result = decide(input({ subject: { ...makeSubject(), confirmation: { jkt: JKT } }, proofJkt: OTHER }));
    expect(isDenial(result) && result.reason).toBe('subject_token_key_mismatch');
  });

  it('grants when it matches', () => {
    const result = decide(input({ subject: { ...makeSubject(), confirmation: { jkt: JKT } }, proofJkt: JKT }));
    expect(result.decision).toBe('granted');
  });
});
