/**
 * The kill switch counts only what the agent did, and a reinstatement starts fresh windows. Real parts: the
 * in-memory shared state, the real admin actions and sink; records as the token endpoint writes them.
 */
import { describe, expect, it, vi } from 'vitest';
import { createAdminActions } from '../../src/admin/admin-actions.js';
import { MemorySink } from '../../src/attribution/memory-sink.js';
import type { ExchangeRecord } from '../../src/attribution/record.js';
import type { Agent } from '../../src/domain/agent.js';
import type { BrokerConfig } from '../../src/domain/broker-config.js';
import type { Catalog } from '../../src/domain/catalog.js';
import { createKillSwitch } from '../../src/kill-switch/kill-switch.js';
import { memoryWindowEpochs, resetWindowsOnReinstate } from '../../src/kill-switch/window-epochs.js';
import { createLogger } from '../../src/log.js';
import { MemoryState } from '../../src/state/memory-state.js';

const AGENT = 'agent-a';

function agent(clientId: string): Agent {
  return {
    clientId, name: clientId, owner: 'sec@example.com', status: 'active',
    authentication: { method: 'client_secret_basic', secretHash: 'unused' },
    tools: new Map([['crm', ['crm.accounts.read']]]),
    maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test',
  };
}

let seq = 0;
function record(reason: string, extra: Partial<ExchangeRecord> = {}): ExchangeRecord {
  seq += 1;
  return {
    v: 1, type: 'token_exchange', id: `r${String(seq)}`, time: new Date().toISOString(), request_id: `q${String(seq)}`,
    decision: reason === 'granted' ? 'granted' : 'denied', reason,
    agent: { client_id: AGENT, authenticated: true }, caller: { address: '127.0.0.1' },
    ...(reason === 'granted' ? { user: { iss: 'https://idp.example', sub: 'alice' } } : {}),
    ...extra,
  };
}

function setup(config: NonNullable<BrokerConfig['killSwitch']>) {
  let nowMs = 1_800_000_000_000;
  const state = new MemoryState({ now: () => nowMs });
  const sink = new MemorySink();
  const epochs = memoryWindowEpochs();
  const actions = resetWindowsOnReinstate(createAdminActions({
    state,
    agents: () => ({ agents: new Map([[AGENT, agent(AGENT)]]) }),
    catalog: () => ({ tools: new Map() }) as unknown as Catalog,
    record: (r) => sink.append(r),
    now: () => nowMs,
    clockSkewSeconds: 10,
  }), epochs);
  const observe = createKillSwitch({ config, state, actions, epochs, log: createLogger('silent'), now: () => nowMs });
  return {
    state, sink, actions, observe,
    advance: (ms: number) => { nowMs += ms; },
    /** Feeds records one at a time, letting each evaluation settle (as one request after another would). */
    async feed(reasons: readonly string[], extra: Partial<ExchangeRecord> = {}) {
      for (const reason of reasons) {
        observe(record(reason, extra));
        for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
      }
    },
    suspendedBy: async () => (await state.agentOverride(AGENT))?.by,
  };
}

const RATIO = { denialRatio: { ratio: 0.8, minRequests: 50, windowMs: 300_000 } };
const times = (n: number, reason: string): string[] => Array.from({ length: n }, () => reason);

describe('the denial-ratio trigger counts only what the agent did', () => {
  it('60 exchanges with an expired user token (the user\'s fault) do not suspend the agent', async () => {
    const ks = setup(RATIO);
    await ks.feed(times(60, 'subject_token_expired'));
    expect(await ks.suspendedBy()).toBeUndefined();
  });

  it('60 issuer_unavailable during an identity-provider outage do not suspend the agent', async () => {
    const ks = setup(RATIO);
    await ks.feed(times(60, 'issuer_unavailable'));
    expect(await ks.suspendedBy()).toBeUndefined();
  });

  it('60 state_unavailable under broker overload do not suspend the agent', async () => {
    const ks = setup(RATIO);
    await ks.feed(times(60, 'state_unavailable'));
    expect(await ks.suspendedBy()).toBeUndefined();
  });

  it('a closed time window, or scopes the user cannot justify, do not suspend the agent', async () => {
    const ks = setup(RATIO);
    await ks.feed(times(30, 'outside_time_window'));
    await ks.feed(times(30, 'scope_empty_after_narrowing'), { scopes: { requested: ['crm.accounts.write'], granted: [], dropped: [{ scope: 'crm.accounts.write', reason: 'not_justified_by_user' }] } });
    expect(await ks.suspendedBy()).toBeUndefined();
  });

  it('the same number of agent-caused denials does suspend it', async () => {
    const ks = setup(RATIO);
    await ks.feed(times(49, 'resource_unknown'));
    expect(await ks.suspendedBy()).toBeUndefined();
    await ks.feed(['resource_unknown']);
    expect(await ks.suspendedBy()).toBe('kill-switch:denial_ratio');
  });

  it('user-caused denials cannot dilute an agent\'s probing (they are in neither count)', async () => {
    const ks = setup(RATIO);
    await ks.feed(times(200, 'subject_token_invalid'));
    await ks.feed(times(50, 'scope_empty_after_narrowing'), { scopes: { requested: ['crm.admin'], granted: [], dropped: [{ scope: 'crm.admin', reason: 'not_in_catalog' }] } });
    expect(await ks.suspendedBy()).toBe('kill-switch:denial_ratio');
  });

  it('grants of one event-loop turn are one shared-state write; a denial of that turn counts them with it', async () => {
    const ks = setup(RATIO);
    const hits = vi.spyOn(ks.state, 'hit');
    for (const reason of [...times(20, 'granted'), ...times(50, 'resource_unknown')]) ks.observe(record(reason));
    for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
    // Without the turn's grants in the denials' count, 50 of 50 would be denied and the agent suspended.
    expect(await ks.suspendedBy()).toBeUndefined(); // 50 / 70 = 71 % <= 80 %
    const allWindow = hits.mock.calls.filter(([key]) => key.startsWith('ks-all:'));
    expect(allWindow).toHaveLength(50);
    expect(allWindow.map((call) => call[3] ?? 1).reduce((a, b) => a + b, 0)).toBe(70);
    hits.mockClear();
    for (const reason of times(30, 'granted')) ks.observe(record(reason));
    for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(hits.mock.calls.filter(([key]) => key.startsWith('ks-all:')).map((call) => call[3])).toEqual([30]);
    await ks.feed(times(1, 'resource_unknown')); // 51 / 101: still below
    expect(await ks.suspendedBy()).toBeUndefined();
  });

  it('grants keep the ratio down as before', async () => {
    const ks = setup(RATIO);
    await ks.feed([...times(20, 'granted'), ...times(50, 'resource_unknown')]);
    expect(await ks.suspendedBy()).toBeUndefined(); // 50 / 70 = 71 % <= 80 %
  });
});

describe('a reinstatement starts fresh windows', () => {
  const ctx = { by: 'oncall', reason: 'reviewed', requestId: 'x', callerAddress: '127.0.0.1', override: true };

  it('after a person reinstates, one more denial does not re-suspend the agent; a full fresh window does', async () => {
    const ks = setup(RATIO);
    await ks.feed(times(50, 'resource_unknown'));
    expect(await ks.suspendedBy()).toBe('kill-switch:denial_ratio');
    await ks.actions.agent('reinstate', AGENT, ctx);
    ks.advance(2000); // past the epoch cache: as a request a moment after the reinstatement
    await ks.feed(['resource_unknown']);
    expect(await ks.suspendedBy()).toBeUndefined();
    await ks.feed(times(48, 'resource_unknown'));
    expect(await ks.suspendedBy()).toBeUndefined();
    await ks.feed(['resource_unknown']);
    expect(await ks.suspendedBy()).toBe('kill-switch:denial_ratio');
  });

  it('a count made with an epoch read before the reinstatement cannot re-suspend (the trigger re-reads it)', async () => {
    const ks = setup(RATIO);
    await ks.feed(times(50, 'resource_unknown'));
    await ks.actions.agent('reinstate', AGENT, ctx);
    await ks.feed(['resource_unknown']); // within the epoch cache: counted into the old window, which is full
    expect(await ks.suspendedBy()).toBeUndefined();
  });

  it('the rate-limit-hit window is reset too', async () => {
    const ks = setup({ rateLimitHits: { count: 5, windowMs: 60_000 } });
    await ks.feed(times(5, 'rate_limited'));
    expect(await ks.suspendedBy()).toBe('kill-switch:rate_limit_hits');
    await ks.actions.agent('reinstate', AGENT, ctx);
    ks.advance(2000);
    await ks.feed(['rate_limited']);
    expect(await ks.suspendedBy()).toBeUndefined();
  });
});
