/**
 * The console over HTTP against the development default: pages need a session, the CSP, role and CSRF
 * checks on the JSON API, actions attributed to the signed-in person and taking effect on /token.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/server/start-broker.js';
import { CookieJar, request, signInWithPassword } from '../support/person-login.js';
import { demoExchange, startDevDefault } from './dev-default.js';

let running: RunningBroker;
let dir: string;

beforeAll(async () => {
  ({ running, dir } = await startDevDefault());
}, 30_000);
afterAll(async () => { await running.stop(); });

async function personClient(username: string) {
  const signed = await signInWithPassword(running.issuer, username, `${username}-dev-password`, '/console/');
  expect(signed.response.status).toBe(200);
  const session = await (await request(signed.jar, `${running.issuer}/console/api/session`)).json() as { csrf_token: string; roles: string[] };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => request(signed.jar, `${running.issuer}/console/api${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token, ...headers }, body: JSON.stringify(body),
  });
  return { jar: signed.jar, session, post };
}

async function adminRecords(): Promise<{ action: string; by: string; reason: string }[]> {
  const text = await readFile(join(dir, 'attribution.jsonl'), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.includes('"type":"admin_action"')).map((l) => JSON.parse(l) as { action: string; by: string; reason: string });
}

async function agentStatus(jar: CookieJar): Promise<string | undefined> {
  const { agents } = await (await request(jar, `${running.issuer}/console/api/agents`)).json() as { agents: { clientId: string; status: string }[] };
  return agents.find((a) => a.clientId === 'demo-agent')?.status;
}

describe('the console over HTTP', () => {
  it('sends a visitor without a session to sign in, and serves pages with the console CSP (no inline script)', async () => {
    const res = await request(new CookieJar(), `${running.issuer}/console/`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/signin/login?return_to=%2Fconsole%2F');
    const alice = await personClient('alice');
    const page = await request(alice.jar, `${running.issuer}/console/`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await page.text();
    expect(html).not.toMatch(/<script>|<script(?![^>]*\ssrc=)[^>]*>/u);
    const js = await request(alice.jar, `${running.issuer}/console/assets/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    // Everything else keeps the strict default.
    const health = await fetch(`${running.issuer}/healthz`);
    expect(health.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
  });

  it('refuses the JSON API without a session (401), the page data needs nothing else', async () => {
    const res = await request(new CookieJar(), `${running.issuer}/console/api/agents`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'login_required' });
    const post = await request(new CookieJar(), `${running.issuer}/console/api/agents/demo-agent/suspend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":"x"}' });
    expect(post.status).toBe(401);
  });

  it('a viewer reads but cannot suspend: 403 insufficient_scope, nothing changes, the refusal recorded', async () => {
    const bob = await personClient('bob');
    expect(bob.session.roles).toEqual(['viewer']);
    expect((await request(bob.jar, `${running.issuer}/console/api/catalog`)).status).toBe(200);
    const before = (await adminRecords()).length;
    const res = await bob.post('/agents/demo-agent/suspend', { reason: 'viewer tries' });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'insufficient_scope' });
    expect(await agentStatus(bob.jar)).toBe('active');
    // One record: the refused attempt (decision denied), attributed to bob; no suspension.
    const after = (await adminRecords()).slice(before) as { action: string; by: string; reason: string; decision?: string; target: { value: string } }[];
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ action: 'console.post', by: 'person:bob', reason: 'needs the operator role', decision: 'denied', target: { value: '/console/api/agents/demo-agent/suspend' } });
    const revoke = await bob.post('/revocations', { kind: 'user', value: 'alice', reason: 'viewer tries' });
    expect(revoke.status).toBe(403);
    expect((await adminRecords()).slice(before).filter((r) => r.action === 'agent.suspend' || r.action.startsWith('revoke.'))).toHaveLength(0);
  });

  it('refuses a state change without the session CSRF token or from another origin', async () => {
    const alice = await personClient('alice');
    const before = (await adminRecords()).length;
    const missing = await request(alice.jar, `${running.issuer}/console/api/agents/demo-agent/suspend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":"csrf"}' });
    expect(missing.status).toBe(403);
    expect(await missing.json()).toMatchObject({ error: 'invalid_request' });
    const wrong = await alice.post('/agents/demo-agent/suspend', { reason: 'csrf' }, { 'x-csrf-token': 'not-the-token' });
    expect(wrong.status).toBe(403);
    const foreign = await alice.post('/agents/demo-agent/suspend', { reason: 'csrf' }, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(await agentStatus(alice.jar)).toBe('active');
    expect((await adminRecords()).length).toBe(before);
  });

  it('an operator suspends: attributed to her, and the next real exchange is refused (unauthorized_client, recorded)', async () => {
    expect((await demoExchange(running)).status).toBe(200);
    const alice = await personClient('alice');
    const noReason = await alice.post('/agents/demo-agent/suspend', { reason: ' ' });
    expect(noReason.status).toBe(400);
    const res = await alice.post('/agents/demo-agent/suspend', { reason: 'console test: suspected misuse' });
    expect(res.status).toBe(200);
    expect((await adminRecords()).at(-1)).toMatchObject({ action: 'agent.suspend', by: 'person:alice', reason: 'console test: suspected misuse' });
    expect(await agentStatus(alice.jar)).toBe('suspended');

    const refused = await demoExchange(running);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'unauthorized_client' });
    expect(refused.body.access_token).toBeUndefined();
    const denied = await (await request(alice.jar, `${running.issuer}/console/api/records?agent=demo-agent&decision=denied&reason=agent_suspended`)).json() as { records: { reason: string }[] };
    expect(denied.records[0]).toMatchObject({ reason: 'agent_suspended' });

    const back = await alice.post('/agents/demo-agent/reinstate', { reason: 'console test: cleared' });
    expect(back.status).toBe(200);
    expect((await demoExchange(running)).status).toBe(200);
  });

  it('finds a record, shows its place in the chain, verifies the log and exports JSON lines', async () => {
    const alice = await personClient('alice');
    const granted = await demoExchange(running);
    const jti = JSON.parse(Buffer.from(String(granted.body.access_token).split('.')[1] ?? '', 'base64url').toString()) as { jti: string };
    const list = await (await request(alice.jar, `${running.issuer}/console/api/records?agent=demo-agent&user=alice&decision=granted&limit=5`)).json() as { records: { id: string; seq: number; token?: { jti: string } }[] };
    const found = list.records.find((r) => r.token?.jti === jti.jti);
    expect(found).toBeDefined();
    const detail = await (await request(alice.jar, `${running.issuer}/console/api/records/${found?.id ?? ''}`)).json() as { chain: { seq: number; linked: boolean; previous: { seq: number } | null } };
    expect(detail.chain).toMatchObject({ seq: found?.seq, linked: true, previous: { seq: (found?.seq ?? 0) - 1 } });
    const verify = await (await request(alice.jar, `${running.issuer}/console/api/verify`)).json() as { ok: boolean; records: number };
    expect(verify).toMatchObject({ ok: true });
    expect(verify.records).toBeGreaterThan(3);
    const exported = await request(alice.jar, `${running.issuer}/console/api/export?agent=demo-agent`);
    expect(exported.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await exported.text()).trim().split('\n').map((l) => JSON.parse(l) as { agent: { client_id: string } });
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.every((l) => l.agent.client_id === 'demo-agent')).toBe(true);
    const bad = await request(alice.jar, `${running.issuer}/console/api/records?from=yesterday`);
    expect(bad.status).toBe(400);
  });

  it('shows the overview: per-minute counts, denial reasons, readiness', async () => {
    const alice = await personClient('alice');
    const o = await (await request(alice.jar, `${running.issuer}/console/api/overview`)).json() as { totals: { granted: number }; perMinute: unknown[]; readiness: { name: string; ok: boolean }[] };
    expect(o.perMinute).toHaveLength(60);
    expect(o.totals.granted).toBeGreaterThan(0);
    expect(o.readiness.map((c) => c.ok)).toEqual(o.readiness.map(() => true));
    expect(o.readiness.some((c) => c.name.startsWith('issuer '))).toBe(true);
  });
});
