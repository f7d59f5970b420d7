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
      // Several events counted at once (a turn's grants, kill-switch.ts): 2 + 5 now, + 1 of the previous window.
      expect(await state.hit('k', windowMs, t0 + windowMs + windowMs / 2, 5)).toBe(7);
      // A group's windows counted in one call (an agent's own limit and per tool), each in order, each its own count.
      const group = [{ key: 'all', windowMs }, { key: 'tool:crm', windowMs: windowMs * 2 }];
      expect(await state.hitGroup('agent:g', group, t0)).toEqual([1, 1]);
      expect(await state.hitGroup('agent:g', group, t0 + 1)).toEqual([2, 2]);
      expect(await state.hitGroup('agent:g', [{ key: 'tool:crm', windowMs: windowMs * 2 }], t0 + 2)).toEqual([3]);
      expect(await state.hitGroup('agent:h', group, t0 + 2)).toEqual([1, 1]);
      // Half-way through the next window of `all`: 1 now + 2 of the previous window weighted by 0.5.
      expect((await state.hitGroup('agent:g', group, t0 + windowMs + windowMs / 2))[0]).toBe(2);
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

    it('keeps one rule per kind and value: a repeated revocation merges (later cover and expiry win), never adds', async () => {
      const state = await make();
      await state.addRevocation(rule({ kind: 'token', value: 'j1', expiresAt: 4_000_000_100 }));
      const merged = await state.addRevocation(rule({ kind: 'token', value: 'j1', expiresAt: 4_000_000_000 }));
      await state.addRevocation(rule({ kind: 'user', value: 'alice', issuedBefore: 2000 }));
      // A replica whose clock is behind cannot shorten the rule.
      const user = await state.addRevocation(rule({ kind: 'user', value: 'alice', issuedBefore: 1500 }));
      expect(merged).toMatchObject({ id: 'token:j1', expiresAt: 4_000_000_100 });
      expect(user).toMatchObject({ id: 'user:alice', issuedBefore: 2000 });
      expect((await state.listRevocations()).map((r) => r.id).sort()).toEqual(['token:j1', 'user:alice']);
      expect((await state.revocationsByIds(['token:j1', 'user:bob', 'user:alice'])).map((r) => r.id)).toEqual(['token:j1', 'user:alice']);
      await state.close();
    });

    it('drops rules once nothing they cover can be alive (on the next write)', async () => {
      const state = await make();
      const past = Math.floor(Date.now() / 1000) - 10;
      await state.addRevocation(rule({ kind: 'token', value: 'gone', expiresAt: past }));
      await state.addRevocation(rule({ kind: 'user', value: 'gone', expiresAt: past }));
      await state.addRevocation(rule({ kind: 'token', value: 'live' }));
      expect((await state.listRevocations()).map((r) => r.id)).toEqual(['token:live']);
      await state.close();
    });

    it('snapshots rules in pages consistent with a feed position, and follows the feed after that position', async () => {
      const state = await make();
      for (let i = 0; i < 25; i += 1) await state.addRevocation(rule({ kind: 'token', value: `t${String(i)}` }));
      const snapshot = await state.revocationSnapshot(10);
      const pages: number[] = [];
      const ids = new Set<string>();
      for await (const page of snapshot.pages) {
        pages.push(page.length);
        for (const r of page) ids.add(r.id);
      }
      expect(ids.size).toBe(25);
      expect(pages.length).toBeGreaterThan(1);
      expect(snapshot.cursor).toBe(await state.feedPosition());
      expect(await state.feedSince(snapshot.cursor)).toEqual({ events: [], truncated: false });
      await state.addRevocation(rule({ kind: 'tool', value: 'crm' }));
      const page = await state.feedSince(snapshot.cursor);
      expect(page.truncated).toBe(false);
      expect(page.events.map((e) => e.revocation?.id)).toEqual(['tool:crm']);
      expect((await state.feedKey()).equals(await state.feedKey())).toBe(true);
      expect((await state.feedKey()).length).toBe(32);
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

