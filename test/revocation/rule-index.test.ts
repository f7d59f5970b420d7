/** The validator's rule index: lookups by key for every kind, act chains, user hashes, merging, expiry. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RuleIndex } from '../../src/revocation/rule-index.js';
import { toFeedRule, userHash } from '../../src/revocation/feed-rule.js';
import type { Revocation } from '../../src/state/shared-state.js';

const key = randomBytes(32);
const claims = { jti: 'j1', client_id: 'agent-a', sub: 'alice', tool: 'crm', iat: 1000, act: { sub: 'agent-a', act: { sub: 'agent-b' } } };

describe('rule index', () => {
  it('matches token, agent (at any depth), user (by keyed hash) and tool rules, each only within its cover', () => {
    const cases: [kind: 'token' | 'agent' | 'user' | 'tool', value: string][] = [['token', 'j1'], ['agent', 'agent-a'], ['agent', 'agent-b'], ['user', userHash(key, 'alice')], ['tool', 'crm']];
    for (const [kind, value] of cases) {
      const covering = new RuleIndex(key);
      covering.add({ kind, value, issuedBefore: 1000, expiresAt: 9999 });
      expect(covering.matches(claims)).toBe(true);
      const other = new RuleIndex(key);
      other.add({ kind, value: `${value}-other`, issuedBefore: 1000, expiresAt: 9999 });
      expect(other.matches(claims)).toBe(false);
    }
    const later = new RuleIndex(key);
    later.add({ kind: 'agent', value: 'agent-b', issuedBefore: 999, expiresAt: 9999 });
    expect(later.matches(claims)).toBe(false);
    // The clear `sub` does not match a user rule: only its hash under the feed key does.
    const clear = new RuleIndex(key);
    clear.add({ kind: 'user', value: 'alice', issuedBefore: 1000, expiresAt: 9999 });
    expect(clear.matches(claims)).toBe(false);
  });

  it('feed rules carry only what matching needs', () => {
    const rule: Revocation = { id: 'user:alice', kind: 'user', value: 'alice', issuedBefore: 1, expiresAt: 2, reason: 'fired', by: 'oncall', at: 1 };
    expect(toFeedRule(rule, key)).toEqual({ kind: 'user', value: userHash(key, 'alice'), issuedBefore: 1, expiresAt: 2 });
  });

  it('merges repeated rules and drops expired ones', () => {
    const index = new RuleIndex(key);
    index.add({ kind: 'token', value: 'j1', issuedBefore: 0, expiresAt: 100 });
    index.add({ kind: 'token', value: 'j1', issuedBefore: 0, expiresAt: 50 });
    index.add({ kind: 'user', value: userHash(key, 'alice'), issuedBefore: 1000, expiresAt: 60 });
    expect(index.size).toBe(2);
    index.prune(70);
    expect(index.size).toBe(1);
    expect(index.matches(claims)).toBe(true);
    index.prune(101);
    expect(index.size).toBe(0);
    expect(index.matches(claims)).toBe(false);
  });

  it('prunes in slices: each call looks at no more than its budget, and a sweep ends having dropped every expired rule', () => {
    const index = new RuleIndex(key);
    for (let i = 0; i < 25; i += 1) index.add({ kind: 'token', value: `t${String(i)}`, issuedBefore: 0, expiresAt: i % 2 === 0 ? 50 : 500 });
    index.add({ kind: 'tool', value: 'crm', issuedBefore: 0, expiresAt: 50 });
    expect(index.pruneSome(100, 10)).toBe(false);
    expect(index.size).toBeGreaterThanOrEqual(26 - 10);
    expect(index.pruneSome(100, 10)).toBe(false);
    expect(index.pruneSome(100, 10)).toBe(true);
    expect(index.size).toBe(12);
    expect(index.matches({ jti: 't1', iat: 0 })).toBe(true);
    expect(index.matches({ jti: 't0', iat: 0, tool: 'crm' })).toBe(false);
  });

  it('costs the same with a million token rules (lookup, not scan)', () => {
    const index = new RuleIndex(key);
    const time = () => {
      const start = performance.now();
      for (let i = 0; i < 20_000; i += 1) index.matches({ ...claims, jti: `x${String(i)}` });
      return performance.now() - start;
    };
    for (let i = 0; i < 1_000_000; i += 1) index.add({ kind: 'token', value: `t${String(i)}`, issuedBefore: 0, expiresAt: 9999 });
    index.add({ kind: 'agent', value: 'agent-z', issuedBefore: 0, expiresAt: 9999 });
    const full = time();
    // 20,000 checks: a lookup takes microseconds; a scan of a million rules per check would take minutes.
    // The bound is generous for a shared machine and still three orders of magnitude below a scan.
    expect(full).toBeLessThan(3000);
    expect(index.matches({ ...claims, jti: 't999999' })).toBe(true);
  });
});
