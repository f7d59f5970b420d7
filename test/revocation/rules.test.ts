/** Revocation rules as data: identity, lifetime, merge, which can never match, strict parsing. */
import { describe, expect, it } from 'vitest';
import { CorruptRuleError, MAX_TOKEN_LIFETIME_SECONDS, mergeRules, parseRule, ruleExpiry, ruleId, unmatchableRevocation } from '../../src/revocation/rules.js';
import { newTokenId } from '../../src/minting/token-id.js';
import { candidateRuleIds, isRevokedBy, type Revocation } from '../../src/state/shared-state.js';

const base: Revocation = { id: 'user:alice', kind: 'user', value: 'alice', issuedBefore: 1000, expiresAt: 5000, reason: 'r', by: 'oncall', at: 990 };

describe('revocation rules', () => {
  it('one id per kind and value', () => {
    expect(ruleId('token', 'abc')).toBe('token:abc');
    expect(ruleId('user', 'abc')).not.toBe(ruleId('agent', 'abc'));
  });

  it('a token rule lives until the token expires (+ skew); the others until the last covered token can have expired', () => {
    expect(ruleExpiry('token', 1000, 900, 10, 1600)).toBe(1610);
    expect(ruleExpiry('token', 1000, 900, 10)).toBe(900 + MAX_TOKEN_LIFETIME_SECONDS + 10);
    for (const kind of ['agent', 'user', 'tool'] as const) expect(ruleExpiry(kind, 1000, 900, 10)).toBe(1000 + MAX_TOKEN_LIFETIME_SECONDS + 10);
    expect(MAX_TOKEN_LIFETIME_SECONDS).toBeLessThanOrEqual(3600);
  });

  it('merging keeps the wider cover and the longer life', () => {
    expect(mergeRules(undefined, base)).toBe(base);
    expect(mergeRules({ ...base, issuedBefore: 2000, expiresAt: 100 }, base)).toMatchObject({ issuedBefore: 2000, expiresAt: 5000 });
  });

  it('refuses revocations that could never match: blank, padded, or a jti this broker does not mint', () => {
    expect(unmatchableRevocation('user', '   ')).toMatch(/blank/u);
    expect(unmatchableRevocation('user', ' alice')).toMatch(/white space/u);
    expect(unmatchableRevocation('token', 'not-a-jti')).toMatch(/jti/u);
    expect(unmatchableRevocation('token', 'x'.repeat(600))).toMatch(/at most/u);
    expect(unmatchableRevocation('token', newTokenId())).toBeUndefined();
    expect(unmatchableRevocation('user', 'alice')).toBeUndefined();
  });

  it('parses a stored rule strictly: anything malformed throws, nothing is skipped', () => {
    expect(parseRule(JSON.stringify(base))).toEqual(base);
    for (const bad of ['{not json', 'null', '[]', JSON.stringify({ ...base, kind: 'group' }), JSON.stringify({ ...base, value: '' }), JSON.stringify({ ...base, expiresAt: 'soon' }), JSON.stringify({ ...base, by: undefined })]) {
      expect(() => parseRule(bad)).toThrow(CorruptRuleError);
    }
  });

  it('agent rules match every position of the act chain (RFC 8693 §4.1), at depth 1, 2 and 3', () => {
    const agent: Revocation = { ...base, id: 'agent:middle', kind: 'agent', value: 'middle' };
    const claims = (act: unknown) => ({ client_id: 'outer', sub: 'alice', iat: 900, act });
    expect(isRevokedBy(claims({ sub: 'outer' }), agent)).toBe(false);
    expect(isRevokedBy(claims({ sub: 'outer', act: { sub: 'middle' } }), agent)).toBe(true);
    expect(isRevokedBy(claims({ sub: 'outer', act: { sub: 'x', act: { sub: 'middle' } } }), agent)).toBe(true);
    expect(isRevokedBy({ ...claims({ sub: 'outer', act: { sub: 'middle' } }), iat: 1001 }, agent)).toBe(false);
    expect(candidateRuleIds({ jti: 'j', client_id: 'outer', sub: 'alice', tool: 'crm', act: { sub: 'outer', act: { sub: 'middle' } } }))
      .toEqual(['token:j', 'agent:outer', 'agent:middle', 'user:alice', 'tool:crm']);
  });
});
