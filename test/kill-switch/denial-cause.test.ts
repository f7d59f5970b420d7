/** Whose doing a denial was: the table is exhaustive, and the classification is pure. */
import { describe, expect, it } from 'vitest';
import { DENIAL_REASONS, type DenialReason } from '../../src/exchange/reasons.js';
import { classifyExchange, DENIAL_CAUSE } from '../../src/kill-switch/denial-cause.js';

const denied = (reason: string, dropped?: { reason: 'not_in_catalog' | 'not_allowed_for_agent' | 'not_justified_by_user' }[]) => ({
  decision: 'denied' as const, reason, ...(dropped ? { scopes: { dropped } } : {}),
});

describe('classifyExchange', () => {
  it('classifies every denial reason, and nothing else', () => {
    expect(Object.keys(DENIAL_CAUSE).sort()).toEqual(Object.keys(DENIAL_REASONS).sort());
  });

  it('never blames the agent for the three false positives of issue 14: an expired user token, an issuer outage, an overloaded broker', () => {
    expect(classifyExchange(denied('subject_token_expired'))).toBe('user');
    expect(classifyExchange(denied('issuer_unavailable'))).toBe('infrastructure');
    expect(classifyExchange(denied('state_unavailable'))).toBe('infrastructure');
  });

  it('never blames the agent for any user-token reason, any *_unavailable, a closed time window or internal errors', () => {
    const reasons = Object.keys(DENIAL_REASONS) as DenialReason[];
    const userToken = reasons.filter((r) => /^subject_token_(invalid|expired|untrusted_issuer|wrong_audience|wrong_type|no_subject|binding_unsupported)$/u.test(r));
    expect(userToken).toHaveLength(7);
    for (const r of userToken) expect(classifyExchange(denied(r)), r).toBe('user');
    const unavailable = reasons.filter((r) => r.endsWith('_unavailable'));
    expect(unavailable.length).toBeGreaterThanOrEqual(3);
    for (const r of unavailable) expect(classifyExchange(denied(r)), r).toBe('infrastructure');
    expect(classifyExchange(denied('internal_error'))).toBe('infrastructure');
    expect(classifyExchange(denied('outside_time_window'))).toBe('schedule');
    expect(classifyExchange(denied('lifetime_empty'))).toBe('user');
  });

  it('blames the agent for what it sent: an unknown tool, a bad proof, a forged actor token, a token it cannot prove it holds', () => {
    for (const r of ['resource_unknown', 'agent_not_allowed_tool', 'dpop_proof_invalid', 'dpop_proof_replayed', 'actor_token_invalid',
      'subject_token_key_mismatch', 'may_act_mismatch', 'scope_syntax', 'act_chain_repeated_actor', 'subject_token_missing']) {
      expect(classifyExchange(denied(r)), r).toBe('agent');
    }
  });

  it('an empty narrowing is the user\'s only when every dropped scope is one the user cannot justify', () => {
    expect(classifyExchange(denied('scope_empty_after_narrowing', [{ reason: 'not_justified_by_user' }, { reason: 'not_justified_by_user' }]))).toBe('user');
    expect(classifyExchange(denied('scope_empty_after_narrowing', [{ reason: 'not_justified_by_user' }, { reason: 'not_allowed_for_agent' }]))).toBe('agent');
    expect(classifyExchange(denied('scope_empty_after_narrowing', [{ reason: 'not_in_catalog' }]))).toBe('agent');
    expect(classifyExchange(denied('scope_empty_after_narrowing', []))).toBe('agent');
    expect(classifyExchange(denied('scope_empty_after_narrowing'))).toBe('agent');
  });

  it('the broker\'s own enforcement and unauthenticated callers are not the agent\'s conduct; grants are grants', () => {
    for (const r of ['rate_limited', 'agent_suspended', 'agent_revoked']) expect(classifyExchange(denied(r)), r).toBe('enforcement');
    for (const r of ['client_authentication_failed', 'client_authentication_missing', 'agent_unknown']) expect(classifyExchange(denied(r)), r).toBe('unauthenticated');
    expect(classifyExchange({ decision: 'granted', reason: 'granted' })).toBe('granted');
  });

  it('a reason this build does not know counts against the agent (fail towards stopping it)', () => {
    expect(classifyExchange(denied('some_future_reason'))).toBe('agent');
    expect(classifyExchange(denied('toString'))).toBe('agent');
  });
});
