/**
 * The revocation rule of a suspension covers every token minted before the suspension was committed: its
 * issuedBefore is read after the commit, so a replica whose after-mint check read the feed just before the
 * commit (and so granted) still minted a token the rule revokes, even if a second boundary passed.
 */
import { describe, expect, it } from 'vitest';
import { createAdminActions } from '../../src/admin/admin-actions.js';
import type { Agent } from '../../src/domain/agent.js';
import { MemoryState } from '../../src/state/memory-state.js';
import type { AgentStatusOverride } from '../../src/state/shared-state.js';
import { testCatalog } from '../support/catalog.js';

/** A store whose status write takes 1.5 s of (fake) time to commit. */
class SlowCommitState extends MemoryState {
  constructor(readonly clock: { ms: number }) { super(); }
  override async setAgentOverride(clientId: string, override: AgentStatusOverride | null): Promise<void> {
    this.clock.ms += 1500;
    await super.setAgentOverride(clientId, override);
  }
}

describe('agent suspension rule', () => {
  it('takes issuedBefore after the suspension is committed, and keeps `at` as when it was asked for', async () => {
    const clock = { ms: 1_700_000_000_400 };
    const agent = { clientId: 'agent-a' } as unknown as Agent;
    const actions = createAdminActions({
      state: new SlowCommitState(clock),
      agents: () => ({ agents: new Map([['agent-a', agent]]) }),
      catalog: testCatalog,
      record: () => Promise.resolve(),
      now: () => clock.ms,
    });
    const { revocation } = await actions.agent('suspend', 'agent-a', { by: 'oncall', reason: 'r', requestId: 'q', callerAddress: '127.0.0.1' });
    expect(revocation?.at).toBe(1_700_000_000);
    expect(revocation?.issuedBefore).toBe(1_700_000_001);
  });
});
