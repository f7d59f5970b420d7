/** Who may revoke at /revoke, and how often (pure decision). */
import { describe, expect, it } from 'vitest';
import { revocationRefusal } from '../../src/revocation/revocation-guard.js';

const limit = { limit: 3, windowMs: 60_000 };

describe('revocation refusal', () => {
  it('refuses revoked (401 invalid_client) and suspended (400 unauthorized_client) agents whatever their count', () => {
    expect(revocationRefusal({ status: 'revoked', reason: 'r', by: 'o', at: 1 }, undefined, limit)).toMatchObject({ status: 401, error: 'invalid_client', reason: 'agent_revoked' });
    expect(revocationRefusal({ status: 'suspended', reason: 'r', by: 'o', at: 1 }, 0, limit)).toMatchObject({ status: 400, error: 'unauthorized_client', reason: 'agent_suspended' });
  });

  it('allows up to the limit per window, then 429 with Retry-After', () => {
    expect(revocationRefusal(null, 3, limit)).toBeUndefined();
    expect(revocationRefusal(null, 3.5, limit)).toMatchObject({ status: 429, reason: 'rate_limited', retryAfterSeconds: 60 });
  });
});
