/**
 * The agent-status mirror over a store whose feed can be made to fail or hang: it answers from memory
 * while fresh, sees changes committed before an after-mint check, shares feed reads, and fails closed
 * (StateUnavailableError) whenever it cannot confirm it is within the propagation window.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentStatusMirror } from '../../src/state/agent-status-mirror.js';
import { MemoryState } from '../../src/state/memory-state.js';
import { StateUnavailableError, type AgentStatusOverride, type RateWindow, type Revocation, type SharedState } from '../../src/state/shared-state.js';

/** A MemoryState behind a switch: the feed (snapshot + events) answers, fails or never answers. */
class SwitchableState implements SharedState {
  readonly kind = 'memory' as const;
  inner = new MemoryState();
  feed: 'ok' | 'fail' | 'hang' = 'ok';
  feedReads = 0;
  directReads = 0;

  #feed<T>(read: () => Promise<T>): Promise<T> {
    this.feedReads += 1;
    if (this.feed === 'fail') return Promise.reject(new StateUnavailableError('feed down'));
    if (this.feed === 'hang') return new Promise<T>(() => undefined);
    return read();
  }

  agentOverride(clientId: string) { this.directReads += 1; return this.inner.agentOverride(clientId); }
  agentStatusSnapshot() { return this.#feed(() => this.inner.agentStatusSnapshot()); }
  eventsSince(cursor: string | undefined, limit?: number) { return this.#feed(() => this.inner.eventsSince(cursor, limit)); }
  setAgentOverride(clientId: string, override: AgentStatusOverride | null) { return this.inner.setAgentOverride(clientId, override); }
  addRevocation(revocation: Revocation) { return this.inner.addRevocation(revocation); }
  listRevocations() { return this.inner.listRevocations(); }
  revocationsByIds(ids: readonly string[]) { return this.inner.revocationsByIds(ids); }
  revocationSnapshot(pageSize?: number) { return this.inner.revocationSnapshot(pageSize); }
  feedSince(cursor: string | undefined, limit?: number) { return this.inner.feedSince(cursor, limit); }
  feedPosition() { return this.inner.feedPosition(); }
  feedKey() { return this.inner.feedKey(); }
  hit(key: string, windowMs: number, nowMs: number) { return this.inner.hit(key, windowMs, nowMs); }
  hitGroup(group: string, windows: readonly RateWindow[], nowMs: number) { return this.inner.hitGroup(group, windows, nowMs); }
  addDistinct(key: string, member: string, windowMs: number, nowMs: number) { return this.inner.addDistinct(key, member, windowMs, nowMs); }
  claimOnce(key: string, ttlMs: number) { return this.inner.claimOnce(key, ttlMs); }
  confirmReplicated() { return this.inner.confirmReplicated(); }
  ping() { return this.inner.ping(); }
  close() { return this.inner.close(); }
}

const SUSPENDED: AgentStatusOverride = { status: 'suspended', reason: 'r', by: 'oncall', at: 1 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const mirrors: AgentStatusMirror[] = [];
function mirrorOf(state: SharedState, windowMs: number, pollIntervalMs?: number): AgentStatusMirror {
  const mirror = new AgentStatusMirror(state, { windowMs, ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }) });
  mirrors.push(mirror);
  return mirror;
}
afterEach(() => {
  for (const m of mirrors.splice(0)) m.close();
});

describe('agent-status mirror', () => {
  it('answers from memory, never reading agent status directly, and follows the feed within the window', async () => {
    const state = new SwitchableState();
    await state.setAgentOverride('agent-a', SUSPENDED);
    const mirror = mirrorOf(state, 1000);
    expect(await mirror.recent('agent-a')).toEqual(SUSPENDED);
    expect(await mirror.recent('agent-b')).toBeNull();
    const changedAt = Date.now();
    await state.setAgentOverride('agent-b', { ...SUSPENDED, status: 'revoked' });
    await state.setAgentOverride('agent-a', null);
    await expect.poll(() => mirror.recent('agent-b').then((o) => o?.status ?? null), { timeout: 1000, interval: 10 }).toBe('revoked');
    expect(Date.now() - changedAt).toBeLessThan(1000);
    expect(await mirror.recent('agent-a')).toBeNull();
    expect(state.directReads).toBe(0);
  });

  it('latest() sees a change committed just before the call, even when no background poll has run since', async () => {
    const state = new SwitchableState();
    const mirror = mirrorOf(state, 1000, 60_000);
    expect(await mirror.latest('agent-a')).toBeNull();
    await state.setAgentOverride('agent-a', SUSPENDED);
    expect(await mirror.recent('agent-a')).toBeNull(); // the memory view may lag (within the window)...
    expect(await mirror.latest('agent-a')).toEqual(SUSPENDED); // ...the after-mint check may not
  });

  it('shares one feed read among concurrent after-mint checks', async () => {
    const state = new SwitchableState();
    const mirror = mirrorOf(state, 1000, 60_000);
    await mirror.latest('agent-a');
    const before = state.feedReads;
    await Promise.all(Array.from({ length: 50 }, () => mirror.latest('agent-a')));
    expect(state.feedReads - before).toBeLessThanOrEqual(2);
  });

  it('concurrent after-mint checks share one poll\'s timer too (not a timer and a race per exchange)', async () => {
    const state = new SwitchableState();
    const mirror = mirrorOf(state, 1000, 60_000);
    await mirror.latest('agent-a');
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      await Promise.all(Array.from({ length: 50 }, () => mirror.latest('agent-a')));
      expect(timers.mock.calls.length).toBeLessThanOrEqual(2);
    } finally {
      timers.mockRestore();
    }
  });

  it('fails closed once the feed has not been read successfully within the window', async () => {
    const state = new SwitchableState();
    const mirror = mirrorOf(state, 300);
    expect(await mirror.recent('agent-a')).toBeNull();
    state.feed = 'fail';
    await expect(mirror.latest('agent-a')).rejects.toBeInstanceOf(StateUnavailableError);
    await sleep(350);
    await expect(mirror.recent('agent-a')).rejects.toBeInstanceOf(StateUnavailableError);
    state.feed = 'ok';
    expect(await mirror.recent('agent-a')).toBeNull();
  });

  it('fails closed within the window when the feed hangs instead of failing', async () => {
    const state = new SwitchableState();
    const mirror = mirrorOf(state, 300);
    await mirror.latest('agent-a');
    state.feed = 'hang';
    const started = Date.now();
    await expect(mirror.latest('agent-a')).rejects.toBeInstanceOf(StateUnavailableError);
    expect(Date.now() - started).toBeLessThan(600);
    await sleep(350);
    await expect(mirror.recent('agent-a')).rejects.toBeInstanceOf(StateUnavailableError);
  });

  it('re-reads a full snapshot after a failure (a Redis restarted without persistence has lost its feed)', async () => {
    const state = new SwitchableState();
    await state.setAgentOverride('agent-a', SUSPENDED);
    await state.setAgentOverride('agent-b', SUSPENDED);
    const mirror = mirrorOf(state, 1000, 60_000);
    expect(await mirror.latest('agent-a')).toEqual(SUSPENDED);
    state.feed = 'fail';
    await expect(mirror.latest('agent-a')).rejects.toBeInstanceOf(StateUnavailableError);
    state.inner = new MemoryState(); // restarted empty; its feed restarts at cursor 1
    await state.setAgentOverride('agent-c', SUSPENDED);
    state.feed = 'ok';
    expect(await mirror.latest('agent-a')).toBeNull();
    expect(await mirror.latest('agent-c')).toEqual(SUSPENDED);
  });
});
