/**
 * Issue 14 item 2 over HTTP: revocation rules are bounded and idempotent. `/revoke` makes one rule per jti
 * that ends with the token, is rate-limited per agent (counted by the kill switch) and refused for suspended
 * or revoked agents; the admin API refuses revocations that can never match; `X-Request-Id` is validated the
 * same way everywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import type { Agent } from '../../src/domain/agent.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../support/token-request.js';

const SECRET = 'revoke-endpoint-agent-secret';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/u;
let idp: UpstreamIdp;
let broker: RunningTestBroker;
let admin: { key: string; hash: string };

const agent = (clientId: string, secretHash: string): Agent => ({
  clientId, name: clientId, owner: 'sec@example.com', status: 'active',
  authentication: { method: 'client_secret_basic', secretHash },
  tools: new Map([['crm', ['crm.accounts.read']]]),
  maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test',
});

beforeAll(async () => {
  admin = await createAdminKey('oncall');
  const reserved = await reserveBroker();
  idp = await startUpstreamIdp({ audience: reserved.issuer });
  const hash = await hashClientSecret(SECRET);
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)],
    catalog: testCatalog(),
    agents: ['agent-a', 'agent-flood', 'agent-s', 'agent-r'].map((id) => agent(id, hash)),
    config: { adminKeys: [{ id: 'oncall', hash: admin.hash }], killSwitch: { rateLimitHits: { count: 3, windowMs: 60_000 } } },
  });
});
afterAll(async () => {
  await broker.close();
  await idp.close();
});

async function mint(clientId: string): Promise<string> {
  const res = await rawPost(broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read' }), { authorization: basic(clientId, SECRET) });
  expect(res.status).toBe(200);
  return String(res.body.access_token);
}
const revokeAt = (token: string, clientId: string, headers: Record<string, string> = {}) =>
  rawPost(`${broker.issuer}/revoke`, form({ token }), { authorization: basic(clientId, SECRET), ...headers });
const adminPost = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${broker.issuer}/admin${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const tokenRules = async () => (await broker.state.listRevocations()).filter((r) => r.kind === 'token');

describe('/revoke (RFC 7009) is bounded', () => {
  it('revoking the same token twice leaves one rule, which ends when the token does (exp + clock skew)', async () => {
    const token = await mint('agent-a');
    const { jti, exp } = decodeJwt(token);
    const before = (await tokenRules()).length;
    expect((await revokeAt(token, 'agent-a')).status).toBe(200);
    expect((await revokeAt(token, 'agent-a')).status).toBe(200);
    const rules = (await tokenRules()).filter((r) => r.value === jti);
    expect(rules).toHaveLength(1);
    expect((await tokenRules()).length).toBe(before + 1);
    expect(rules[0]).toMatchObject({ id: `token:${String(jti)}`, expiresAt: Number(exp) + 10 });
  });

  it('is rate-limited per agent (429, Retry-After, attributed), the refusals trip the kill switch, and a suspended agent is refused', async () => {
    const token = await mint('agent-flood');
    const statuses: number[] = [];
    let firstLimited: Awaited<ReturnType<typeof revokeAt>> | undefined;
    for (let i = 0; i < 63; i += 1) {
      const res = await revokeAt(token, 'agent-flood');
      statuses.push(res.status);
      if (res.status === 429) firstLimited ??= res;
    }
    expect(firstLimited?.headers.get('retry-after')).toBe('60');
    expect(firstLimited?.body).toEqual({ error: 'temporarily_unavailable', error_description: 'too many revocations by this agent; slow down' });
    expect(statuses.slice(0, 60).every((s) => s === 200)).toBe(true);
    const refused = await revokeAt(token, 'agent-flood', { 'x-request-id': 'flood-1' });
    // By now the kill switch (3 rate-limit hits) has suspended the agent: it is refused as suspended.
    await expect.poll(async () => (await broker.state.agentOverride('agent-flood'))?.by).toBe('kill-switch:rate_limit_hits');
    expect(statuses.slice(60)).toContain(429);
    expect([429, 400]).toContain(refused.status);
    const again = await revokeAt(token, 'agent-flood', { 'x-request-id': 'flood-2' });
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ error: 'unauthorized_client' });
    expect(again.text).not.toMatch(/access_token|eyJ/u);
    const records = broker.sink.records.filter((r) => 'request_id' in r && r.request_id === 'flood-2');
    expect(records).toEqual([expect.objectContaining({ type: 'admin_action', action: 'revoke.token.refused', by: 'agent:agent-flood', reason: 'agent_suspended', decision: 'denied' })]);
    const limited = broker.sink.records.filter((r) => r.type === 'admin_action' && r.action === 'revoke.token.refused' && r.reason === 'rate_limited');
    expect(limited.length).toBeGreaterThanOrEqual(1);
  });

  it('a revoked agent is refused with 401 invalid_client, attributed', async () => {
    const token = await mint('agent-r');
    expect((await adminPost('/agents/agent-r/revoke', { reason: 'compromised' })).status).toBe(200);
    const res = await revokeAt(token, 'agent-r', { 'x-request-id': 'revoked-1' });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'invalid_client' });
    expect(res.text).not.toMatch(/access_token|eyJ/u);
    expect(broker.sink.records.filter((r) => 'request_id' in r && r.request_id === 'revoked-1')).toEqual([expect.objectContaining({ action: 'revoke.token.refused', reason: 'agent_revoked', decision: 'denied' })]);
  });
});

describe('the admin API refuses revocations that can never match', () => {
  it.each([
    ['user', '   ', /blank/u],
    ['user', ' alice ', /white space/u],
    ['token', 'not-a-broker-jti', /jti/u],
  ])('%s %j: 400 invalid_request, nothing recorded or stored', async (kind, value, why) => {
    const before = broker.sink.records.length;
    const rules = (await broker.state.listRevocations()).length;
    const res = await adminPost('/revocations', { kind, value, reason: 'test' });
    expect(res.status).toBe(400);
    const body = await res.json() as { error: string; error_description: string };
    expect(body.error).toBe('invalid_request');
    expect(body.error_description).toMatch(why);
    expect(broker.sink.records.length).toBe(before);
    expect((await broker.state.listRevocations()).length).toBe(rules);
  });
});

describe('X-Request-Id is validated the same way on every endpoint', () => {
  const huge = 'x'.repeat(15_000);
  it('a 15 KB or malformed request id is replaced by a UUID in /revoke and /admin records', async () => {
    const token = await mint('agent-a');
    expect((await revokeAt(token, 'agent-a', { 'x-request-id': huge })).status).toBe(200);
    expect(broker.sink.records.at(-1)).toMatchObject({ action: 'revoke.token', request_id: expect.stringMatching(UUID) as unknown });
    expect((await adminPost('/revocations', { kind: 'user', value: 'dave', reason: 'left' }, { 'x-request-id': huge })).status).toBe(201);
    expect(broker.sink.records.at(-1)).toMatchObject({ action: 'revoke.user', request_id: expect.stringMatching(UUID) as unknown });
    expect((await adminPost('/revocations', { kind: 'user', value: 'erin', reason: 'left' }, { 'x-request-id': 'bad id <script>' })).status).toBe(201);
    expect(broker.sink.records.at(-1)).toMatchObject({ request_id: expect.stringMatching(UUID) as unknown });
    expect((await adminPost('/revocations', { kind: 'user', value: 'frank', reason: 'left' }, { 'x-request-id': 'ticket-42' })).status).toBe(201);
    expect(broker.sink.records.at(-1)).toMatchObject({ request_id: 'ticket-42' });
  });
});
