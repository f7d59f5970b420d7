/**
 * The SharedState contract: what every implementation (memory, Redis single server, Sentinel, Cluster)
 * must do. Call `sharedStateContract` inside a test file with a factory for fresh, isolated states.
 */
import { describe, expect, it } from 'vitest';
import type { Revocation, SharedState } from '../../src/state/shared-state.js';

export function rule(overrides: Partial<Revocation> = {}): Revocation {
  const kind = overrides.kind ?? 'agent';
  const value = overrides.value ?? 'agent-a';
  return { id: `${kind}:${value}`, kind, value, issuedBefore: 1000, expiresAt: 4_000_000_000, reason: 'test', by: 'oncall', at: 1000, ...overrides };
}

export function sharedStateContract(name: string, make: () => SharedState | Promise<SharedState>) {
  describe(`${name} shared state`, () => {
    it('stores, reads and clears agent status overrides', async () => {
      const state = await make();
      expect(await state.agentOverride('agent-a')).toBeNull();
      await state.setAgentOverride('agent-a', { status: 'suspended', reason: 'odd behaviour', by: 'oncall', at: 1 });
      expect(await state.agentOverride('agent-a')).toEqual({ status: 'suspended', reason: 'odd behaviour', by: 'oncall', at: 1 });
      expect(await state.agentOverride('agent-b')).toBeNull();
      await state.setAgentOverride('agent-a', null);
      expect(await state.agentOverride('agent-a')).toBeNull();
      await state.close();
    });

    it('counts hits in a sliding window and distinct members per window', async () => {
      const state = await make();
      const windowMs = 10_000;
      const t0 = 1_700_000_000_000 - (1_700_000_000_000 % windowMs); // start of a window
      expect(await state.hit('k', windowMs, t0)).toBe(1);
      expect(await state.hit('k', windowMs, t0 + 1)).toBe(2);
      expect(await state.hit('other', windowMs, t0 + 1)).toBe(1);
      // Half-way through the next window: 1 now + 2 from the previous window weighted by 0.5.
      expect(await state.hit('k', windowMs, t0 + windowMs + windowMs / 2)).toBe(2);
      expect(await state.addDistinct('u', 'alice', windowMs, t0)).toBe(1);
      expect(await state.addDistinct('u', 'alice', windowMs, t0 + 1)).toBe(1);
      expect(await state.addDistinct('u', 'bob', windowMs, t0 + 2)).toBe(2);
      await state.close();
    });

    it('claims a one-time key once until it expires', async () => {
      const state = await make();
      const key = `jti-${Math.random().toString(36).slice(2)}`;
      expect(await state.claimOnce(key, 300)).toBe(true);
      expect(await state.claimOnce(key, 300)).toBe(false);
      expect(await state.claimOnce(`${key}-other`, 300)).toBe(true);
      await new Promise((r) => setTimeout(r, 350));
      expect(await state.claimOnce(key, 300)).toBe(true);
      expect(await state.claimOnce(key, 300)).toBe(false);
      await state.close();
    });

    it('keeps revocations and publishes every change as a resumable feed', async () => {
      const state = await make();
      const first = rule();
      const second = rule({ kind: 'user', value: 'alice' });
      await state.addRevocation(first);
      await state.setAgentOverride('agent-a', { status: 'revoked', reason: 'r', by: 'oncall', at: 2 });
      await state.addRevocation(second);
      expect((await state.listRevocations()).map((r) => r.id).sort()).toEqual([first.id, second.id].sort());
      const all = await state.eventsSince(undefined);
      expect(all.map((e) => e.type)).toEqual(['revocation', 'agent_status', 'revocation']);
      expect(all[0]?.revocation).toEqual(first);
      expect(all[1]?.agent).toEqual({ clientId: 'agent-a', override: { status: 'revoked', reason: 'r', by: 'oncall', at: 2 } });
      const rest = await state.eventsSince(all[0]!.cursor);
      expect(rest.map((e) => e.cursor)).toEqual([all[1]!.cursor, all[2]!.cursor]);
      expect(await state.eventsSince(all[2]!.cursor)).toEqual([]);
      await state.close();
    });

    it('snapshots every agent override with the feed position it reflects', async () => {
      const state = await make();
      expect(await state.agentStatusSnapshot()).toEqual({ overrides: new Map(), cursor: undefined });
      const suspended = { status: 'suspended', reason: 'r', by: 'oncall', at: 4 } as const;
      await state.setAgentOverride('agent-a', suspended);
      await state.setAgentOverride('agent-b', { ...suspended, status: 'revoked' });
      await state.setAgentOverride('agent-b', null);
      await state.addRevocation(rule());
      const snapshot = await state.agentStatusSnapshot();
      expect(snapshot.overrides).toEqual(new Map([['agent-a', suspended]]));
      const events = await state.eventsSince(undefined);
      expect(snapshot.cursor).toBe(events.at(-1)?.cursor);
      expect(await state.eventsSince(snapshot.cursor)).toEqual([]);
      await state.close();
    });
  });
}

