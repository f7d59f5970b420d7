import { describe, expect, it } from 'vitest';
import type { ChainedRecord } from '../../src/attribution/chain.js';
import { LastN, reasonMatches, summarise } from '../../src/console/overview.js';

const NOW = Date.parse('2026-12-03T12:00:30Z');
let seq = 0;
function exchange(time: string, decision: 'granted' | 'denied', reason = decision === 'granted' ? 'granted' : 'scope_not_allowed', agent = 'a1'): ChainedRecord {
  seq += 1;
  return { v: 1, type: 'token_exchange', id: `r${String(seq)}`, time, request_id: 'q', decision, reason, agent: { client_id: agent, authenticated: true }, caller: { address: '127.0.0.1' }, seq, prev: 'p', hash: 'h' };
}
function admin(time: string, by: string): ChainedRecord {
  seq += 1;
  return { v: 1, type: 'admin_action', id: `r${String(seq)}`, time, request_id: 'q', action: 'agent.suspend', by, target: { kind: 'agent', value: 'a1' }, reason: 'ratio', caller: { address: 'x' }, seq, prev: 'p', hash: 'h' };
}

describe('overview summary', () => {
  it('counts exchanges per minute by decision, ranks denial reasons, lists kill-switch events, keeps last activity', () => {
    const o = summarise([
      exchange('2026-12-03T11:59:10Z', 'granted'),
      exchange('2026-12-03T11:59:20Z', 'denied'),
      exchange('2026-12-03T12:00:05Z', 'denied', 'agent_suspended', 'a2'),
      exchange('2026-12-03T12:00:06Z', 'denied', 'agent_suspended', 'a2'),
      exchange('2026-12-01T12:00:00Z', 'granted'), // older than a day: ignored
      admin('2026-12-03T12:00:07Z', 'kill-switch:denial_ratio'),
      admin('2026-12-03T12:00:08Z', 'person:alice'),
    ], NOW);
    expect(o.perMinute).toHaveLength(60);
    expect(o.perMinute.at(-1)).toMatchObject({ minute: '2026-12-03T12:00:00.000Z', granted: 0, denied: 2 });
    expect(o.perMinute.at(-2)).toMatchObject({ minute: '2026-12-03T11:59:00.000Z', granted: 1, denied: 1 });
    expect(o.totals).toEqual({ granted: 1, denied: 3 });
    expect(o.topDenialReasons).toEqual([{ reason: 'agent_suspended', count: 2 }, { reason: 'scope_not_allowed', count: 1 }]);
    expect(o.killSwitchEvents).toEqual([{ time: '2026-12-03T12:00:07Z', action: 'agent.suspend', by: 'kill-switch:denial_ratio', target: 'agent:a1', reason: 'ratio' }]);
    expect(o.lastActivity).toEqual({ a1: '2026-12-03T11:59:20Z', a2: '2026-12-03T12:00:06Z' });
  });

  it('filters by reason code and keeps the newest N', () => {
    expect(reasonMatches(exchange('2026-12-03T12:00:00Z', 'denied', 'x'), 'x')).toBe(true);
    expect(reasonMatches(exchange('2026-12-03T12:00:00Z', 'denied', 'x'), 'y')).toBe(false);
    const last = new LastN<number>(2);
    for (const n of [1, 2, 3]) last.push(n);
    expect(last.newestFirst()).toEqual([3, 2]);
    expect(last.count).toBe(3);
  });
});
