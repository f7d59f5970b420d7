import { describe, expect, it } from 'vitest';
import type { AgentRegistry } from '../../../src/domain/agent.js';
import type { ActClaim } from '../../../src/domain/exchange.js';
import { StateUnavailableError, type AgentStatusOverride } from '../../../src/state/shared-state.js';
import { actChainDenial } from '../../../src/token-endpoint/steps/act-chain-standing.js';
import { makeAgent } from '../../exchange/fixtures.js';

const BROKER = 'https://broker.example.com';
const registry: AgentRegistry = {
  agents: new Map([
    ['planner', makeAgent({ clientId: 'planner' })],
    ['dormant', makeAgent({ clientId: 'dormant', status: 'suspended' })],
  ]),
};
const override = (status: AgentStatusOverride['status']): AgentStatusOverride => ({ status, reason: 'test', by: 'oncall', at: 0 });

/** A status read over a fixed map of overrides, recording which ids were read. */
function reader(overrides: Record<string, AgentStatusOverride> = {}) {
  const reads: string[] = [];
  const read = (id: string) => {
    reads.push(id);
    return Promise.resolve(overrides[id] ?? null);
  };
  return { read, reads };
}

const chain = (...subs: string[]): ActClaim => {
  let act: ActClaim | undefined;
  for (const sub of [...subs].reverse()) act = act === undefined ? { sub } : { sub, act };
  return act ?? { sub: 'mail' };
};

describe('actChainDenial', () => {
  it('reads nothing for a chain of the presenting agent alone', async () => {
    const { read, reads } = reader();
    expect(await actChainDenial({ sub: 'mail' }, BROKER, registry, read)).toBeNull();
    expect(reads).toEqual([]);
  });

  it("reads every earlier local actor, skipping another issuer's identities, and passes active ones", async () => {
    const { read, reads } = reader();
    const act: ActClaim = { sub: 'mail', act: { sub: 'planner', act: { sub: 'dormant', iss: 'https://agents.example', act: { sub: 'unknown' } } } };
    expect(await actChainDenial(act, BROKER, registry, read)).toBeNull();
    expect(reads).toEqual(['planner', 'unknown']);
  });

  it("refuses a registry suspension (status: suspended in the agent's file)", async () => {
    expect(await actChainDenial(chain('mail', 'planner', 'dormant'), BROKER, registry, reader().read))
      .toMatchObject({ reason: 'act_chain_suspended_actor', error: 'invalid_request' });
  });

  it('refuses a shared-state override, a revocation winning over the registry', async () => {
    expect(await actChainDenial(chain('mail', 'planner'), BROKER, registry, reader({ planner: override('suspended') }).read))
      .toMatchObject({ reason: 'act_chain_suspended_actor' });
    expect(await actChainDenial(chain('mail', 'dormant'), BROKER, registry, reader({ dormant: override('revoked') }).read))
      .toMatchObject({ reason: 'act_chain_revoked_actor' });
  });

  it('fails closed (state_unavailable, 503) when the status view cannot vouch for an answer', async () => {
    const failing = () => Promise.reject(new StateUnavailableError('feed cut'));
    expect(await actChainDenial(chain('mail', 'planner'), BROKER, registry, failing))
      .toMatchObject({ reason: 'state_unavailable', error: 'temporarily_unavailable' });
  });
});
