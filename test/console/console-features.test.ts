/**
 * The console's approvals, connections, stages/budgets, reload status and Redis-sink explorer over HTTP,
 * against a real broker (console-bed.ts): people signed in at a real oidc-provider, Redis state and the
 * Redis attribution sink, a real SaaS for the vault. Every refusal: the exact error, nothing decided or
 * deleted, no token, and the refusal recorded.
 */
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import type { ChainedRecord } from '../../src/attribution/chain.js';
import { attributionStreamKey } from '../../src/attribution/redis-stream-sink.js';
import { cleanupPrefix, requireRedis, uniquePrefix } from '../support/redis.js';
import { request, signInWithPassword, type CookieJar } from '../support/person-login.js';
import { loginAndConsent } from '../support/saas-login.js';
import { SAAS_USERS } from '../support/vault-saas.js';
import { PAY_AGENT, PEOPLE, startConsoleBed, type ConsoleBed } from './console-bed.js';

const redisUp = await requireRedis('the console with Redis state and the Redis attribution sink');
const prefix = uniquePrefix();
let bed: ConsoleBed;
let adminKey: string;

beforeAll(async () => {
  if (!redisUp) return;
  const admin = await createAdminKey('oncall');
  adminKey = admin.key;
  bed = await startConsoleBed(prefix, [{ id: 'oncall', hash: admin.hash, role: 'viewer' }]);
}, 30_000);

afterAll(async () => {
  if (!redisUp) return;
  await bed.close();
  await cleanupPrefix(prefix);
});

type Reply<T> = Promise<{ status: number; body: T }>;
interface Person { jar: CookieJar; get: (path: string) => Reply<unknown>; post: (path: string, body: unknown, headers?: Record<string, string>) => Promise<{ status: number; body: Record<string, unknown> }> }

async function person(username: string): Promise<Person> {
  const who = PEOPLE.find((p) => p.username === username);
  const signed = await signInWithPassword(bed.url, username, who?.password ?? '', '/console/');
  expect(signed.response.status).toBe(200);
  const session = await (await request(signed.jar, `${bed.url}/console/api/session`)).json() as { csrf_token: string };
  return {
    jar: signed.jar,
    get: async (path: string) => {
      const res = await request(signed.jar, `${bed.url}/console/api${path}`);
      return { status: res.status, body: await res.json() };
    },
    post: async (path, body, headers = {}) => {
      const res = await request(signed.jar, `${bed.url}/console/api${path}`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token, ...headers }, body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() as Record<string, unknown> };
    },
  };
}

/** Every record of the broker's chain (the Redis stream), oldest first. */
async function records(): Promise<ChainedRecord[]> {
  const entries = await bed.state.redis.xrange(attributionStreamKey('console-bed', prefix), '-', '+');
  return entries.map(([, fields]) => JSON.parse(fields[1] ?? '{}') as ChainedRecord).filter((r) => (r.type as string) !== 'checkpoint');
}

const approvalEvents = async (id: string) => (await records()).flatMap((r) => (r.type === 'approval' && r.approval_id === id ? [r] : []));
const sleep = (ms: number) => new Promise<void>((done) => { setTimeout(done, ms); });

describe.runIf(redisUp)('approvals in the console', () => {
  it('lists a pending approval; a viewer and an operator cannot decide (403, recorded); an approver approves; the next poll gets the token', async () => {
    const call = { payee: 'ACME GmbH', amount: '1500.00', currency: 'EUR' };
    const asked = await bed.pay(call);
    const askedAt = Date.now();
    expect(asked.status).toBe(400);
    expect(asked.body).toMatchObject({ error: 'authorization_pending' });
    const id = String(asked.body.approval_id);

    const alice = await person('alice');
    const list = await (alice.get('/approvals') as Reply<{ pending: Record<string, unknown>[] }>);
    const row = list.body.pending.find((a) => a.id === id);
    expect(row).toMatchObject({ agent: PAY_AGENT, tool: 'payments', user: { sub: 'alice' }, status: 'pending', why: ['1500.00 EUR is above 1000.00 EUR'] });
    expect(row?.actions).toEqual([expect.objectContaining({ action: 'create_payment', fields: expect.objectContaining({ amount: '1500.00', currency: 'EUR', payee: 'ACME GmbH' }) as unknown, arguments_sha256: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/u) as unknown })]);
    expect(Number(row?.seconds_left)).toBeGreaterThan(590);

    for (const name of ['bob', 'dave']) {
      const refused = await (await person(name)).post(`/approvals/${id}/approve`, { reason: 'not mine to decide' });
      expect(refused).toMatchObject({ status: 403, body: { error: 'insufficient_scope' } });
    }
    const events = await approvalEvents(id);
    expect(events.filter((e) => e.event === 'decision_refused').map((e) => e.by)).toEqual(['person:bob', 'person:dave']);
    // Without the session's CSRF token: refused before anything is read, nothing recorded.
    const forged = await alice.post(`/approvals/${id}/approve`, { reason: 'x' }, { 'x-csrf-token': 'forged' });
    expect(forged).toMatchObject({ status: 403, body: { error: 'invalid_request' } });
    expect(await approvalEvents(id)).toHaveLength(events.length);
    const noReason = await alice.post(`/approvals/${id}/approve`, { reason: ' ' });
    expect(noReason).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    // Still pending: the agent's poll gets no token.
    const early = await bed.pay(call, id);
    expect(early.body).not.toHaveProperty('access_token');
    expect(['authorization_pending', 'slow_down']).toContain(early.body.error);

    const approved = await alice.post(`/approvals/${id}/approve`, { reason: 'invoice 42 checked' });
    expect(approved).toMatchObject({ status: 200, body: { approval: { status: 'approved', decision: { by: 'person:alice', via: 'console' } } } });
    expect((await approvalEvents(id)).at(-1)).toMatchObject({ event: 'approved', by: 'person:alice', via: 'console', as: 'console:approver' });
    const twice = await alice.post(`/approvals/${id}/reject`, { reason: 'changed my mind' });
    expect(twice).toMatchObject({ status: 409, body: { error: 'invalid_request' } });
    expect((await approvalEvents(id)).at(-1)).toMatchObject({ event: 'decision_refused', by: 'person:alice', reason: 'already approved' });

    // The poll after the interval (10 s after the early poll's slow_down at most): the single-use token.
    await sleep(Math.max(0, askedAt + 10_500 - Date.now()));
    const minted = await bed.pay(call, id);
    expect(minted.status).toBe(200);
    expect(typeof minted.body.access_token).toBe('string');
    const decided = await (alice.get('/approvals') as Reply<{ decided: Record<string, unknown>[]; tools: { tool: string; gated: number; exchanges: number }[] }>);
    expect(decided.body.decided.find((a) => a.id === id)).toMatchObject({ status: 'minted', decision: { by: 'person:alice' } });
    expect(decided.body.tools.find((t) => t.tool === 'payments')?.gated).toBeGreaterThan(0);
  }, 30_000);
});

describe.runIf(redisUp)('stages and budgets of an agent', () => {
  it('shows the stage and budget use; an operator changes the stage with a reason (recorded), a viewer cannot', async () => {
    expect((await bed.pay({ payee: 'Shop', amount: '10.00', currency: 'EUR' })).status).toBe(200);
    const alice = await person('alice');
    const before = await (alice.get(`/agents/${PAY_AGENT}/guardrails`) as Reply<{ stage: Record<string, unknown>; budgets: { budget: string; metric: string; used: number; limit: number }[] }>);
    expect(before.body.stage).toMatchObject({ current: 'autonomous', declared: 'autonomous', override: null });
    const perHour = before.body.budgets.find((b) => b.budget === `${PAY_AGENT}/payments` && b.metric === 'exchanges_per_hour');
    expect(perHour).toMatchObject({ limit: 20 });
    expect(perHour?.used).toBeGreaterThanOrEqual(1);

    const bob = await person('bob');
    expect(await bob.post(`/agents/${PAY_AGENT}/stage`, { stage: 'shadow', reason: 'viewer tries' })).toMatchObject({ status: 403, body: { error: 'insufficient_scope' } });
    expect(await alice.post(`/agents/${PAY_AGENT}/stage`, { stage: 'sideways', reason: 'typo' })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const changed = await alice.post(`/agents/${PAY_AGENT}/stage`, { stage: 'read_only', reason: 'incident 7: writes paused' });
    expect(changed).toMatchObject({ status: 200, body: { stage: 'read_only', previous: 'autonomous' } });
    expect((await records()).filter((r) => r.type === 'admin_action' && r.action === 'agent.stage').at(-1)).toMatchObject({ by: 'person:alice', reason: 'autonomous -> read_only: incident 7: writes paused' });
    const after = await (alice.get(`/agents/${PAY_AGENT}/guardrails`) as Reply<{ stage: Record<string, unknown> }>);
    expect(after.body.stage).toMatchObject({ current: 'read_only', override: { by: 'person:alice' } });
    // In force at once: a payment (a write scope) is refused, no token.
    const refused = await bed.pay({ payee: 'Shop', amount: '10.00', currency: 'EUR' });
    expect(refused.body).not.toHaveProperty('access_token');
    expect(await alice.post(`/agents/${PAY_AGENT}/stage`, { stage: 'autonomous', reason: 'incident 7 closed' })).toMatchObject({ status: 200 });
  });
});

describe.runIf(redisUp)('connections (the vault) in the console', () => {
  async function connect(p: Person, user: string): Promise<void> {
    const start = await request(p.jar, `${bed.url}/connect/crm`);
    expect(start.status).toBe(302);
    const callback = await loginAndConsent(new URL(start.headers.get('location') ?? ''), { username: user, password: SAAS_USERS[user] ?? '' });
    const done = await request(p.jar, callback.href);
    expect(await done.text()).toContain('Connected');
  }

  it('a person sees their own; only an operator looks up and disconnects another user (recorded), a viewer is refused (recorded)', async () => {
    const alice = await person('alice');
    await connect(alice, 'alice');
    const own = await (alice.get('/connections') as Reply<{ available: boolean; connections: { tool: string }[] }>);
    expect(own.body).toMatchObject({ available: true, connections: [{ tool: 'crm' }] });

    const bob = await person('bob');
    const seen = (await records()).length;
    const look = await (bob.get('/connections?user=alice') as Reply<Record<string, unknown>>);
    expect(look).toMatchObject({ status: 403, body: { error: 'insufficient_scope' } });
    const cut = await bob.post('/connections/disconnect', { user: 'alice', tool: 'crm', reason: 'viewer tries' });
    expect(cut).toMatchObject({ status: 403, body: { error: 'insufficient_scope' } });
    const denials = (await records()).slice(seen).filter((r) => r.type === 'admin_action' && r.decision === 'denied' && r.by === 'person:bob');
    expect(denials.map((r) => (r.type === 'admin_action' ? r.action : ''))).toEqual(['vault.list', 'vault.disconnect']);
    expect((await (alice.get('/connections') as Reply<{ connections: unknown[] }>)).body.connections).toHaveLength(1);

    const dave = await person('dave');
    expect((await (dave.get('/connections?user=alice') as Reply<{ connections: { tool: string }[] }>)).body.connections).toEqual([expect.objectContaining({ tool: 'crm' })]);
    const done = await dave.post('/connections/disconnect', { user: 'alice', tool: 'crm', reason: 'offboarding ticket 9' });
    expect(done).toMatchObject({ status: 200, body: { user: 'alice', tool: 'crm', disconnected: true, revoked_at_saas: 'revoked' } });
    expect((await records()).filter((r) => r.type === 'admin_action' && r.action === 'vault.disconnect').at(-1)).toMatchObject({ by: 'person:dave', reason: 'offboarding ticket 9' });
    expect((await (alice.get('/connections') as Reply<{ connections: unknown[] }>)).body.connections).toEqual([]);
    expect(await dave.post('/connections/disconnect', { user: 'alice', tool: 'crm', reason: 'again' })).toMatchObject({ status: 404 });

    // Her own, without any special role.
    await connect(alice, 'alice');
    expect(await alice.post('/connections/disconnect', { tool: 'crm', reason: 'not using it' })).toMatchObject({ status: 200, body: { disconnected: true } });
  }, 30_000);
});

describe.runIf(redisUp)('the explorer and the admin audit over the Redis attribution sink', () => {
  it('finds records, shows a record in its chain, verifies the streams, and the admin audit route answers too', async () => {
    const alice = await person('alice');
    const found = await (alice.get(`/records?agent=${PAY_AGENT}&decision=granted`) as Reply<{ records: { id: string; seq: number; decision?: string }[]; sink: string }>);
    expect(found.status).toBe(200);
    expect(found.body.sink).toBe('redis');
    const first = found.body.records[0];
    expect(first?.decision).toBe('granted');
    const detail = await (alice.get(`/records/${first?.id ?? ''}`) as Reply<{ chain: { linked: boolean; stream: string; seq: number } }>);
    expect(detail.body.chain).toMatchObject({ linked: true, seq: first?.seq, stream: attributionStreamKey('console-bed', prefix) });
    const verified = await (alice.get('/verify') as Reply<{ ok: boolean; records: number; sink: string }>);
    expect(verified.body).toMatchObject({ ok: true, sink: 'redis' });
    expect(verified.body.records).toBeGreaterThan(5);
    const audit = await fetch(`${bed.url}/admin/audit?agent=${PAY_AGENT}&decision=granted`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(audit.status).toBe(200);
    const lines = (await audit.text()).trim().split('\n').map((l) => JSON.parse(l) as { agent: { client_id: string }; decision: string });
    expect(lines.length).toBe(found.body.records.length);
    expect(lines.every((l) => l.agent.client_id === PAY_AGENT && l.decision === 'granted')).toBe(true);

    // A second replica's chain with a damaged line: verification fails and names that stream.
    const other = attributionStreamKey('replica-b', prefix);
    await bed.state.redis.xadd(other, '*', 'line', '{"seq":1,"prev":"x","hash":"y","type":"token_exchange"}');
    const broken = await (alice.get('/verify') as Reply<{ ok: boolean; file: string; problem: string }>);
    expect(broken.body).toMatchObject({ ok: false, file: other });
    await bed.state.redis.del(other);
  });
});

describe.runIf(redisUp)('the reload result on the overview', () => {
  it('shows a refused reload with its file and field, and the set in force unchanged', async () => {
    const alice = await person('alice');
    const bad = join(bed.dir, 'scopes', 'broken.yaml');
    await writeFile(bad, 'id: broken\ndescription: x\nresource: https://broken.example/api\nmax_ttl: 5m\nscopes:\n  broken.read: { description: r, risk: extreme, justified_by: [x] }\n');
    try {
      const result = await bed.broker.reloader.reload({ by: 'SIGHUP' });
      expect(result.ok).toBe(false);
      const o = await (alice.get('/overview') as Reply<{ reload: { generation: number; lastAttempt: { ok: boolean; by: string; problems: string[] } } }>);
      expect(o.body.reload.lastAttempt).toMatchObject({ ok: false, by: 'SIGHUP' });
      expect(o.body.reload.lastAttempt.problems.join('\n')).toMatch(/broken\.yaml.*risk/u);
      expect(o.body.reload.generation).toBe(1);
    } finally {
      await unlink(bad);
    }
    expect((await bed.broker.reloader.reload({ by: 'SIGHUP' })).ok).toBe(true);
    expect((await (alice.get('/overview') as Reply<{ reload: { lastAttempt: { ok: boolean } } }>)).body.reload.lastAttempt.ok).toBe(true);
  });
});
