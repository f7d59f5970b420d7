import { describe, expect, it } from 'vitest';
import { AgentSecretChecker } from '../../src/auth/agent-secret-guard.js';
import { FailureThrottle } from '../../src/auth/failure-throttle.js';
import { SecretCheckGate } from '../../src/auth/secret-check-gate.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import { MemoryState } from '../../src/state/memory-state.js';

const checker = () => new AgentSecretChecker({ gate: new SecretCheckGate(), throttle: new FailureThrottle(new MemoryState()) });

describe('AgentSecretChecker under concurrency (issue 14 item 3)', () => {
  it('different wrong secrets from one address: one hash at a time, the others refused at once as busy', async () => {
    const hash = await hashClientSecret('the-right-secret');
    const c = checker();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => c.check(hash, `wrong-${i}`, 'agent', '192.0.2.1')));
    expect(results.filter((r) => r.kind === 'wrong')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'busy')).toHaveLength(5);
    // Another address is not held up by that one.
    expect((await c.check(hash, 'wrong-x', 'agent', '192.0.2.2')).kind).toBe('wrong');
  });

  it('the same secret sent concurrently (an agent starting up) shares one hash: all verified', async () => {
    const hash = await hashClientSecret('the-right-secret');
    const c = checker();
    const results = await Promise.all(Array.from({ length: 6 }, () => c.check(hash, 'the-right-secret', 'agent', '192.0.2.1')));
    expect(results.map((r) => r.kind)).toEqual(Array(6).fill('verified'));
  });

  it('a shared wrong hash still counts one failure per request (the throttle trips as before)', async () => {
    const hash = await hashClientSecret('the-right-secret');
    const c = new AgentSecretChecker({ gate: new SecretCheckGate(), throttle: new FailureThrottle(new MemoryState(), { perAddress: { limit: 3, windowMs: 60_000 }, perClient: { limit: 100, windowMs: 60_000 } }) });
    const results = await Promise.all(Array.from({ length: 3 }, () => c.check(hash, 'same-wrong', 'agent', '192.0.2.1')));
    expect(results.map((r) => r.kind)).toEqual(['wrong', 'wrong', 'wrong']);
    expect((await c.check(hash, 'the-right-secret', 'agent', '192.0.2.1')).kind).toBe('throttled');
  });
});
