/**
 * The revocation rule of a suspension covers every token minted before the suspension was committed: its
 * issuedBefore is read after the commit, so a replica whose after-mint check read the feed just before the
 * commit (and so granted) still minted a token the rule revokes, even if a second boundary passed.
 */
import { describe, expect, it } from 'vitest';
import { AdminActionError, createAdminActions } from '../../src/admin/admin-actions.js';
import type { Agent } from '../../src/domain/agent.js';
import { MemoryState } from '../../src/state/memory-state.js';
import { isRevokedBy, StateUnavailableError, type AgentStatusOverride, type Revocation } from '../../src/state/shared-state.js';
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
      clockSkewSeconds: 0,
    });
    const { revocation } = await actions.agent('suspend', 'agent-a', { by: 'oncall', reason: 'r', requestId: 'q', callerAddress: '127.0.0.1' });
    expect(revocation?.at).toBe(1_700_000_000);
    expect(revocation?.issuedBefore).toBe(1_700_000_001);
  });

  it('covers tokens a replica whose clock runs ahead by up to clock_skew minted before the rule (agent, user and tool rules)', async () => {
    const clock = { ms: 1_700_000_000_400 };
    const agent = { clientId: 'agent-a' } as unknown as Agent;
    const actions = createAdminActions({
      state: new MemoryState(),
      agents: () => ({ agents: new Map([['agent-a', agent]]) }),
      catalog: testCatalog,
      record: () => Promise.resolve(),
      now: () => clock.ms,
      clockSkewSeconds: 2.5,
    });
    const ctx = { by: 'oncall', reason: 'r', requestId: 'q', callerAddress: '127.0.0.1' };
    // A replica 2.5 s ahead minted, just before the rule was committed, a token with iat = 1_700_000_002.
    const aheadIat = Math.floor((clock.ms + 2500) / 1000);
    const rules = [
      (await actions.agent('suspend', 'agent-a', ctx)).revocation,
      await actions.revoke('user', 'alice', ctx),
      await actions.revoke('tool', 'crm', ctx),
    ];
    for (const rule of rules) {
      expect(rule?.at).toBe(1_700_000_000);
      expect(rule?.issuedBefore).toBe(1_700_000_003);
      if (!rule) throw new Error('no rule');
      expect(isRevokedBy({ client_id: 'agent-a', sub: 'alice', tool: 'crm', iat: aheadIat }, rule)).toBe(true);
      // A token minted after the skew has passed is not covered: reinstated agents and users get live tokens again.
      expect(isRevokedBy({ client_id: 'agent-a', sub: 'alice', tool: 'crm', iat: 1_700_000_004 }, rule)).toBe(false);
    }
  });
});

/** A store whose revocation write fails, as Redis does when it goes away between the two writes of a suspension. */
class RuleWriteFails extends MemoryState {
  override addRevocation(): Promise<Revocation> {
    return Promise.reject(new StateUnavailableError('redis MULTI failed'));
  }
}

describe('a suspension whose second write fails', () => {
  it.each(['suspend', 'revoke'] as const)('%s: answers 503 saying the agent is stopped but its tokens may not be revoked, and the agent is stopped', async (action) => {
    const state = new RuleWriteFails();
    const recorded: string[] = [];
    const actions = createAdminActions({
      state,
      agents: () => ({ agents: new Map([['agent-a', { clientId: 'agent-a' } as unknown as Agent]]) }),
      catalog: testCatalog,
      record: (record) => { recorded.push(record.action); return Promise.resolve(); },
      now: () => 1_700_000_000_000,
      clockSkewSeconds: 0,
    });
    const status = action === 'revoke' ? 'revoked' : 'suspended';
    const error = await actions.agent(action, 'agent-a', { by: 'oncall', reason: 'r', requestId: 'q', callerAddress: '127.0.0.1' }).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(AdminActionError);
    expect(error).toMatchObject({ status: 503, code: 'temporarily_unavailable', message: `the agent is ${status} (no replica mints for it), but revoking its live tokens may not have taken effect: shared state is unavailable; repeat the action` });
    expect((await state.agentOverride('agent-a'))?.status).toBe(status);
    expect(await state.listRevocations()).toEqual([]);
    expect(recorded).toEqual([`agent.${action}`]);
  });
});
