/**
 * Admin and validator keys (issue 14 items 3 and 7), over HTTP: keyed hashes checked in constant time (a
 * known id answers like an unknown one, and no faster for a near miss), failed authentications attributed
 * in one aggregated record per source, roles (a viewer reads, every state change needs an operator), and
 * undoing another's action (or the kill switch's) only as a declared, recorded override.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import type { AuthenticationFailuresRecord } from '../../src/auth/failure-ledger.js';
import type { AttributionRecord } from '../../src/attribution/record.js';
import type { AdminActionRecord } from '../../src/admin/admin-record.js';
import { secretAgent } from '../support/attack-bed.js';
import { reserveBroker, type RunningTestBroker } from '../support/broker-harness.js';
import { testCatalog } from '../support/catalog.js';
import { form } from '../support/token-request.js';

let broker: RunningTestBroker;
let alice: { key: string; hash: string };
let bob: { key: string; hash: string };
let viewer: { key: string; hash: string };
let validator: { key: string; hash: string };

beforeAll(async () => {
  [alice, bob, viewer, validator] = await Promise.all([createAdminKey('oncall-alice'), createAdminKey('oncall-bob'), createAdminKey('auditor'), createAdminKey('crm-service')]);
  const reserved = await reserveBroker();
  broker = await reserved.start({
    trustedIssuers: [], catalog: testCatalog(),
    agents: [await secretAgent('runaway-agent', 'runaway-agent-secret-0000', { crm: ['crm.accounts.read'] })],
    config: {
      adminKeys: [{ id: 'oncall-alice', hash: alice.hash }, { id: 'oncall-bob', hash: bob.hash, role: 'operator' }, { id: 'auditor', hash: viewer.hash, role: 'viewer' }],
      validatorKeys: [{ id: 'crm-service', hash: validator.hash }],
    },
  });
});
afterAll(async () => { await broker.close(); });

async function call(method: string, path: string, key: string | undefined, body?: unknown): Promise<{ status: number; body: Record<string, unknown>; headers: Headers; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${broker.issuer}${path}`, {
    method,
    headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) as Record<string, unknown> : {}, headers: res.headers, ms: performance.now() - started };
}

const adminActions = () => broker.sink.records.filter((r): r is AdminActionRecord => r.type === 'admin_action');
const secretOf = (key: string) => key.slice(key.lastIndexOf('.') + 1);

describe('admin keys are checked in constant time, without scrypt', () => {
  it('a known id with a wrong secret answers as fast as an unknown id (no hash worth timing)', async () => {
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 15; i += 1) {
      known.push((await call('GET', '/admin/revocations', `oncall-alice.${secretOf(bob.key)}`)).ms);
      unknown.push((await call('GET', '/admin/revocations', `oncall-nobody.${secretOf(bob.key)}`)).ms);
    }
    // Before keyed hashes a known id cost one scrypt (30-65 ms here, more under load) more than an unknown one;
    // now both cost one HMAC (microseconds), so what remains is the shared machine's noise.
    expect(median(known) - median(unknown)).toBeLessThan(15);
  });

  it('231 failed admin logins are refused, each at once, and attributed as one aggregated record', async () => {
    const before = broker.sink.records.length;
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 231 }, (_, i) => call('POST', '/admin/agents/runaway-agent/suspend', i % 2 === 0 ? `oncall-alice.wrong${'x'.repeat(40)}${i}` : undefined, { reason: 'x' })));
    const elapsed = performance.now() - started;
    for (const r of results) {
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('invalid_token');
    }
    // 116 scrypts on four pool threads took over a second; keyed hashes take microseconds.
    expect(elapsed).toBeLessThan(3000);
    expect(broker.sink.records.length).toBe(before); // nothing synced per failure
    expect(await broker.state.agentOverride('runaway-agent')).toBeNull();
  });
});

describe('roles', () => {
  it('a viewer reads revocations and the audit log', async () => {
    expect((await call('GET', '/admin/revocations', viewer.key)).status).toBe(200);
    expect((await call('GET', '/admin/audit', viewer.key)).status).not.toBe(403);
  });

  it('a viewer gets 403 insufficient_scope on every state change, and nothing changes or is recorded', async () => {
    const before = adminActions().length;
    for (const [path, body] of [
      ['/admin/agents/runaway-agent/suspend', { reason: 'x' }],
      ['/admin/agents/runaway-agent/revoke', { reason: 'x' }],
      ['/admin/agents/runaway-agent/reinstate', { reason: 'x' }],
      ['/admin/revocations', { kind: 'user', value: 'alice', reason: 'x' }],
    ] as const) {
      const res = await call('POST', path, viewer.key, body);
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('insufficient_scope');
      expect(res.headers.get('www-authenticate')).toMatch(/insufficient_scope/u);
    }
    expect(adminActions().length).toBe(before);
    expect(await broker.state.agentOverride('runaway-agent')).toBeNull();
    expect(await broker.state.listRevocations()).toEqual([]);
  });

  it('a key without a role acts as an operator (keys from before roles keep working)', async () => {
    expect((await call('POST', '/admin/agents/runaway-agent/suspend', alice.key, { reason: 'suspicious burst' })).status).toBe(200);
    expect(adminActions().at(-1)).toMatchObject({ action: 'agent.suspend', by: 'oncall-alice' });
    expect(adminActions().at(-1)?.override).toBeUndefined();
  });

  it('undoing another operator\'s suspension needs "override": true, and the record names the overridden action', async () => {
    const refused = await call('POST', '/admin/agents/runaway-agent/reinstate', bob.key, { reason: 'looks fine to me' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'override_required' });
    expect(String(refused.body.error_description)).toContain('oncall-alice');
    expect((await broker.state.agentOverride('runaway-agent'))?.status).toBe('suspended');
    const overridden = await call('POST', '/admin/agents/runaway-agent/reinstate', bob.key, { reason: 'reviewed with the owner', override: true });
    expect(overridden.status).toBe(200);
    expect(await broker.state.agentOverride('runaway-agent')).toBeNull();
    expect(adminActions().at(-1)).toMatchObject({ action: 'agent.reinstate', by: 'oncall-bob', reason: 'reviewed with the owner', override: { by: 'oncall-alice', status: 'suspended' } });
  });

  it('an operator undoes their own action without an override', async () => {
    expect((await call('POST', '/admin/agents/runaway-agent/suspend', bob.key, { reason: 'again' })).status).toBe(200);
    expect((await call('POST', '/admin/agents/runaway-agent/reinstate', bob.key, { reason: 'my mistake' })).status).toBe(200);
    expect(adminActions().at(-1)?.override).toBeUndefined();
  });

  it('turning another\'s revocation into a suspension is an override too', async () => {
    expect((await call('POST', '/admin/agents/runaway-agent/revoke', alice.key, { reason: 'key leaked' })).status).toBe(200);
    expect((await call('POST', '/admin/agents/runaway-agent/suspend', bob.key, { reason: 'downgrade' })).status).toBe(409);
    expect((await call('POST', '/admin/agents/runaway-agent/suspend', bob.key, { reason: 'downgrade', override: 'yes' })).status).toBe(400);
  });
});

describe('failed validator authentications', () => {
  it('are refused and, with the admin failures, attributed in one record per source and endpoint family', async () => {
    for (let i = 0; i < 5; i += 1) {
      const res = await fetch(`${broker.issuer}/introspect`, { method: 'POST', headers: { authorization: `Bearer crm-service.${secretOf(alice.key)}`, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ token: 'x' }) });
      expect(res.status).toBe(401);
    }
    const ok = await fetch(`${broker.issuer}/introspect`, { method: 'POST', headers: { authorization: `Bearer ${validator.key}`, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ token: 'x' }) });
    expect(ok.status).toBe(200);
    await broker.close();
    const failures = broker.sink.records.filter((r: AttributionRecord): r is AuthenticationFailuresRecord => r.type === 'authentication_failures');
    expect(failures).toHaveLength(2);
    const admin = failures.find((r) => r.surface === 'admin');
    expect(admin).toMatchObject({ caller: { address: '127.0.0.1' }, count: 231 + 30 });
    expect(admin?.reasons).toMatchObject({ missing: 115, wrong_secret: 116 + 15, unknown_id: 15 });
    const validatorFailures = failures.find((r) => r.surface === 'validator');
    expect(validatorFailures).toMatchObject({ count: 5, reasons: { wrong_secret: 5 }, ids: { 'crm-service': 5 } });
    // Never a key, only ids.
    expect(JSON.stringify(failures)).not.toContain(secretOf(alice.key));
  });
});
