import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../src/state/memory-state.js';
import { directAgentStatus, type AgentStatusView } from '../../../src/state/agent-status.js';
import { StateUnavailableError } from '../../../src/state/shared-state.js';
import { agentStatus } from '../../../src/token-endpoint/steps/agent-status.js';
import { makeAgent } from '../../exchange/fixtures.js';
import { denialOf, runStep, START } from './step-kit.js';

const agent = makeAgent({ clientId: 'agent-a' });
const facts = { ...START, agent };

describe('step agent-status', () => {
  it('no override: nothing to refuse', async () => {
    expect(await runStep(agentStatus, facts, { agentStatus: directAgentStatus(new MemoryState()) })).toEqual({});
  });

  it('suspended: 400 unauthorized_client; revoked: 401 invalid_client', async () => {
    const state = new MemoryState();
    const view = directAgentStatus(state);
    await state.setAgentOverride('agent-a', { status: 'suspended', reason: 'test', by: 'ops', at: 1 });
    expect(denialOf(await runStep(agentStatus, facts, { agentStatus: view }))).toMatchObject({ reason: 'agent_suspended', error: 'unauthorized_client' });
    await state.setAgentOverride('agent-a', { status: 'revoked', reason: 'test', by: 'ops', at: 2 });
    expect(denialOf(await runStep(agentStatus, facts, { agentStatus: view }))).toMatchObject({ reason: 'agent_revoked', error: 'invalid_client' });
  });

  it('a view that cannot vouch for its answer: state_unavailable (nothing is minted)', async () => {
    const down: AgentStatusView = {
      recent: () => Promise.reject(new StateUnavailableError('down')), latest: () => Promise.reject(new StateUnavailableError('down')),
      confirm: () => Promise.resolve(), close: () => undefined,
    };
    expect(denialOf(await runStep(agentStatus, facts, { agentStatus: down }))).toMatchObject({ reason: 'state_unavailable', error: 'temporarily_unavailable' });
  });
});
