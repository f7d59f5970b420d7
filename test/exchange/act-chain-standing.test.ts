import { describe, expect, it } from 'vitest';
import type { ActClaim } from '../../src/domain/exchange.js';
import { chainStandingDenial, earlierLocalActors, type ActorStanding } from '../../src/exchange/act-chain-standing.js';
import { DENIAL_REASONS } from '../../src/exchange/reasons.js';

const BROKER = 'https://broker.example.com';

describe('earlierLocalActors', () => {
  it('is empty for a chain of the presenting agent alone', () => {
    expect(earlierLocalActors({ sub: 'mail-agent' }, BROKER)).toEqual([]);
  });

  it('lists every earlier actor at every depth, outermost first, without the presenting agent', () => {
    const act: ActClaim = { sub: 'mail-agent', act: { sub: 'planner', act: { sub: 'orchestrator', act: { sub: 'root' } } } };
    expect(earlierLocalActors(act, BROKER)).toEqual(['planner', 'orchestrator', 'root']);
  });

  it("counts links naming this broker as issuer, and skips identities of another issuer's namespace", () => {
    const act: ActClaim = { sub: 'mail-agent', act: { sub: 'planner', iss: BROKER, act: { sub: 'outsider', iss: 'https://agents.example', act: { sub: 'root' } } } };
    expect(earlierLocalActors(act, BROKER)).toEqual(['planner', 'root']);
  });
});

describe('chainStandingDenial', () => {
  const standings = (map: Record<string, ActorStanding>) => (id: string): ActorStanding => map[id] ?? 'active';

  it('passes a chain of active actors (and an empty one)', () => {
    expect(chainStandingDenial([], standings({}))).toBeNull();
    expect(chainStandingDenial(['planner', 'root'], standings({ other: 'revoked' }))).toBeNull();
  });

  it('refuses a suspended actor at any position as invalid_request act_chain_suspended_actor', () => {
    for (const at of ['planner', 'root']) {
      const denial = chainStandingDenial(['planner', 'root'], standings({ [at]: 'suspended' }));
      expect(denial).toMatchObject({ decision: 'denied', reason: 'act_chain_suspended_actor', error: 'invalid_request' });
    }
  });

  it('refuses a revoked actor at any position as invalid_request act_chain_revoked_actor', () => {
    for (const at of ['planner', 'orchestrator', 'root']) {
      const denial = chainStandingDenial(['planner', 'orchestrator', 'root'], standings({ [at]: 'revoked' }));
      expect(denial).toMatchObject({ decision: 'denied', reason: 'act_chain_revoked_actor', error: 'invalid_request' });
    }
  });

  it('reports the outermost non-active actor first, and never names it to the caller', () => {
    const denial = chainStandingDenial(['planner', 'root'], standings({ planner: 'suspended', root: 'revoked' }));
    expect(denial?.reason).toBe('act_chain_suspended_actor');
    expect(denial?.description).not.toContain('planner');
    expect(DENIAL_REASONS.act_chain_revoked_actor).toBe('invalid_request');
  });
});
