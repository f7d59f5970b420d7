import { describe, expect, it } from 'vitest';
import type { Grant } from '../../../src/domain/exchange.js';
import { MemoryState } from '../../../src/state/memory-state.js';
import { directAgentStatus } from '../../../src/state/agent-status.js';
import { reCheck } from '../../../src/token-endpoint/steps/re-check.js';
import { actChainStanding } from '../../../src/token-endpoint/steps/act-chain-standing.js';
import { makeAgent, POLICY } from '../../exchange/fixtures.js';
import { denialOf, runStep, START } from './step-kit.js';

const agent = makeAgent({ clientId: 'agent-a' });
const planner = makeAgent({ clientId: 'planner' });
const agents = () => ({ agents: new Map([[agent.clientId, agent], [planner.clientId, planner]]) });
// The chain: agent-a acting for planner, an earlier actor of this broker (iss = the broker).
const grant = { act: { sub: 'agent-a', act: { sub: 'planner', iss: POLICY.brokerIssuer } } } as unknown as Grant;
const minted = { token: 't', jti: 'j', iat: 1, exp: 2 };

describe('step re-check (after minting) and step act-chain-standing (before)', () => {
  it('everyone in good standing: nothing to refuse', async () => {
    const deps = { agentStatus: directAgentStatus(new MemoryState()), agents, policy: POLICY };
    expect(await runStep(reCheck, { ...START, agent, grant, minted }, deps)).toEqual({});
    expect(await runStep(actChainStanding, { ...START, agent, grant }, deps)).toEqual({});
  });

  it('the agent suspended while the token was minted: agent_suspended, the token is withheld', async () => {
    const state = new MemoryState();
    await state.setAgentOverride('agent-a', { status: 'suspended', reason: 'test', by: 'ops', at: 1 });
    const deps = { agentStatus: directAgentStatus(state), agents, policy: POLICY };
    expect(denialOf(await runStep(reCheck, { ...START, agent, grant, minted }, deps))?.reason).toBe('agent_suspended');
  });

  it('an earlier actor of the chain revoked: act_chain_revoked_actor, before and after minting', async () => {
    const state = new MemoryState();
    await state.setAgentOverride('planner', { status: 'revoked', reason: 'test', by: 'ops', at: 1 });
    const deps = { agentStatus: directAgentStatus(state), agents, policy: POLICY };
    expect(denialOf(await runStep(actChainStanding, { ...START, agent, grant }, deps))?.reason).toBe('act_chain_revoked_actor');
    expect(denialOf(await runStep(reCheck, { ...START, agent, grant, minted }, deps))?.reason).toBe('act_chain_revoked_actor');
  });
});
