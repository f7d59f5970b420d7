/**
 * Rollout stages at /token (real HTTP, a real identity provider): shadow answers with what would have been
 * granted and mints nothing, read_only grants only read scopes, supervised refuses write scopes pending a
 * person's approval; a stage change is an attributed admin action; the report shows what the agent did or
 * would have done. Explain gives the full trace of an exchange that is never made.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../../src/admin/admin-auth.js';
import type { AdminActionRecord } from '../../../src/admin/admin-record.js';
import type { ExchangeRecord } from '../../../src/attribution/record.js';
import { buildCatalog } from '../../../src/config/load-catalog.js';
import type { Agent } from '../../../src/domain/agent.js';
import { buildStageReport } from '../../../src/guardrails/stages/stage-report.js';
import type { Stage } from '../../../src/guardrails/stages/stage.js';
import { hashClientSecret } from '../../../src/provider/client-secret-hash.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../../support/broker-harness.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../../support/upstream-idp.js';

const SECRET = 'stage-test-agent-secret';
const CRM = 'https://crm.example.test/api';
const catalog = buildCatalog([{
  source: 'test/crm.yaml',
  data: {
    id: 'crm', description: 'CRM', resource: CRM, max_ttl: 300,
    scopes: {
      'crm.accounts.read': { description: 'read', risk: 'low', access: 'read', justified_by: ['crm.read', 'crm.write'] },
      'crm.accounts.write': { description: 'write', risk: 'medium', access: 'write', justified_by: ['crm.write'] },
    },
  },
}]);

let broker: RunningTestBroker;
let idp: UpstreamIdp;
let admin: { key: string; hash: string };
let viewer: { key: string; hash: string };
let alice: string;

beforeAll(async () => {
  [admin, viewer] = await Promise.all([createAdminKey('oncall'), createAdminKey('auditor')]);
  const secretHash = await hashClientSecret(SECRET);
  const agent = (clientId: string, stage?: Stage): Agent => ({
    clientId, name: clientId, owner: 'owner@example.com', status: 'active',
    authentication: { method: 'client_secret_basic', secretHash },
    tools: new Map([['crm', ['crm.accounts.read', 'crm.accounts.write']]]),
    maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test', ...(stage ? { stage } : {}),
  });
  const reserved = await reserveBroker();
  idp = await startUpstreamIdp({ audience: reserved.issuer });
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)], catalog,
    agents: [agent('shadowed', 'shadow'), agent('reader', 'read_only'), agent('supervised', 'supervised'), agent('auto')],
    config: { adminKeys: [{ id: 'oncall', hash: admin.hash }, { id: 'auditor', hash: viewer.hash, role: 'viewer' }] },
  });
  alice = await idp.userToken('alice');
}, 60_000);

afterAll(async () => {
  await broker.close();
  await idp.close();
});

const exchange = (clientId: string, scope: string): Promise<RawResponse> => rawPost(broker.tokenEndpoint, form({
  grant_type: TE_GRANT, subject_token: alice, subject_token_type: AT_TYPE, resource: CRM, scope,
}), { authorization: basic(clientId, SECRET) });
const records = (clientId: string): ExchangeRecord[] => broker.sink.records.filter((r): r is ExchangeRecord => r.type === 'token_exchange' && r.agent.client_id === clientId);
async function adminCall(method: string, path: string, body?: unknown, key = admin.key): Promise<RawResponse> {
  const res = await fetch(`${broker.issuer}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, unknown>, text };
}

describe('rollout stages at /token', () => {
  it('shadow: decided and recorded in full, answered with what would be granted, no token', async () => {
    const res = await exchange('shadowed', 'crm.accounts.read crm.accounts.write');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('access_denied');
    expect(res.body.error_description).toMatch(/^shadow stage: would grant scope "crm.accounts.read crm.accounts.write" for \d+ s; no token is minted$/u);
    expect(res.body).not.toHaveProperty('access_token');
    const recs = records('shadowed');
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ decision: 'denied', reason: 'stage_shadow', stage: 'shadow', scopes: { granted: ['crm.accounts.read', 'crm.accounts.write'] } });
    expect(recs[0]?.token).toBeUndefined();
  });

  it('read_only: only read scopes are granted; a write-only request is refused', async () => {
    const mixed = await exchange('reader', 'crm.accounts.read crm.accounts.write');
    expect(mixed.status).toBe(200);
    expect(mixed.body.scope).toBe('crm.accounts.read');
    const write = await exchange('reader', 'crm.accounts.write');
    expect(write.status).toBe(400);
    expect(write.body.error).toBe('invalid_scope');
    expect(write.body).not.toHaveProperty('access_token');
    const recs = records('reader');
    expect(recs).toHaveLength(2);
    expect(recs[0]?.scopes?.dropped).toEqual([{ scope: 'crm.accounts.write', reason: 'stage_read_only' }]);
    expect(recs[1]).toMatchObject({ decision: 'denied', reason: 'stage_read_only', stage: 'read_only' });
  });

  it('supervised: write scopes go to the approval gate (which binds an exact action), read scopes do not', async () => {
    expect((await exchange('supervised', 'crm.accounts.read')).status).toBe(200);
    const write = await exchange('supervised', 'crm.accounts.write');
    // The gate fires for the write scope; an approval binds an exact action, so the agent must describe one.
    expect(write.status).toBe(400);
    expect(write.body.error).toBe('invalid_authorization_details');
    expect(write.body).not.toHaveProperty('access_token');
    const denied = records('supervised').filter((r) => r.decision === 'denied');
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ reason: 'authorization_details_required', stage: 'supervised' });
  });

  it('a stage change is an attributed admin action (operators only) and takes effect at once', async () => {
    expect((await exchange('auto', 'crm.accounts.write')).status).toBe(200);
    const byViewer = await adminCall('POST', '/admin/stages/auto', { stage: 'shadow', reason: 'x' }, viewer.key);
    expect(byViewer.status).toBe(403);
    expect((await adminCall('POST', '/admin/stages/auto', { stage: 'sideways', reason: 'x' })).status).toBe(400);
    const changed = await adminCall('POST', '/admin/stages/auto', { stage: 'read_only', reason: 'incident review' });
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({ agent: 'auto', stage: 'read_only', previous: 'autonomous' });
    const rec = broker.sink.records.find((r): r is AdminActionRecord => r.type === 'admin_action' && r.action === 'agent.stage');
    expect(rec).toMatchObject({ by: 'oncall', target: { kind: 'agent', value: 'auto' }, reason: 'autonomous -> read_only: incident review' });
    expect((await exchange('auto', 'crm.accounts.write')).status).toBe(400);
    await adminCall('POST', '/admin/stages/auto', { stage: 'autonomous', reason: 'review done' });
    expect((await exchange('auto', 'crm.accounts.write')).status).toBe(200);
  });

  it('the report says what each agent did or would have done', async () => {
    const report = await buildStageReport('shadowed', broker.sink.records);
    expect(report.stages).toEqual({ shadow: 1 });
    expect(report.tools.crm).toMatchObject({ exchanges: 1, would_have_granted: 1, granted: 0, denied: 0, scopes: { 'crm.accounts.read': 1, 'crm.accounts.write': 1 } });
    const auto = await buildStageReport('auto', broker.sink.records);
    expect(auto.actions.map((a) => a.action)).toEqual(['agent.stage', 'agent.stage']);
    expect(auto.tools.crm).toMatchObject({ granted: 2, denied: 1, denials: { stage_read_only: 1 } });
    const route = await adminCall('GET', '/admin/stages/supervised/report?from=2020-01-01T00:00:00Z', undefined, viewer.key);
    expect(route.status).toBe(200);
    expect(route.body).toMatchObject({ agent: 'supervised', from: '2020-01-01T00:00:00Z' });
    expect((await adminCall('GET', '/admin/stages/supervised/report?from=yesterday')).status).toBe(400);
  });
});

describe('explain at POST /admin/explain', () => {
  it('gives the full trace for a user token, and mints nothing', async () => {
    const before = broker.sink.records.length;
    const res = await adminCall('POST', '/admin/explain', { agent: 'supervised', tool: 'crm', scope: 'crm.accounts.read crm.accounts.write crm.contacts.delete', subject_token: alice }, viewer.key);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      // As /token answers it (the supervised test above): the gate fires, and an approval needs a described action.
      verdict: 'denied', reason: 'authorization_details_required', error: 'invalid_authorization_details', token_minted: false,
      agent: { client_id: 'supervised', stage: 'supervised' },
      user: { sub: 'alice' },
      approval: { required: true, scopes: ['crm.accounts.write'] },
      lifetime: { won: 'tool_max_ttl', expires_in: 300 },
    });
    expect(res.body.scopes).toEqual([
      { scope: 'crm.accounts.read', kept: true, risk: 'low', access: 'read', justified_by: ['crm.read', 'crm.write'] },
      { scope: 'crm.accounts.write', kept: true, risk: 'medium', access: 'write', justified_by: ['crm.write'] },
      { scope: 'crm.contacts.delete', kept: false, reason: 'not_in_catalog' },
    ]);
    expect(res.text).not.toContain('access_token');
    expect(broker.sink.records.length).toBe(before);
  });

  it('dry-runs claims: each dropped scope says why', async () => {
    const res = await adminCall('POST', '/admin/explain', { agent: 'auto', tool: CRM, scope: ['crm.accounts.read', 'crm.accounts.write'], claims: { iss: idp.issuer, sub: 'bob', scope: 'crm.read' } });
    expect(res.body).toMatchObject({ verdict: 'granted', reason: 'granted' });
    expect(res.body.scopes).toEqual([
      expect.objectContaining({ scope: 'crm.accounts.read', kept: true }),
      expect.objectContaining({ scope: 'crm.accounts.write', kept: false, reason: 'not_justified_by_user' }),
    ]);
    const none = await adminCall('POST', '/admin/explain', { agent: 'auto', tool: 'crm', scope: 'crm.accounts.write', claims: { iss: idp.issuer, sub: 'bob', scope: 'crm.read' } });
    expect(none.body).toMatchObject({ verdict: 'denied', reason: 'scope_empty_after_narrowing', error: 'invalid_scope' });
  });

  it('refuses bad input with a clear error', async () => {
    expect((await adminCall('POST', '/admin/explain', { agent: 'nobody', tool: 'crm', claims: { iss: 'i', sub: 's' } })).status).toBe(404);
    expect((await adminCall('POST', '/admin/explain', { agent: 'auto', tool: 'crm' })).body).toMatchObject({ error: 'invalid_request', error_description: 'subject_token or claims is required' });
    const forged = await adminCall('POST', '/admin/explain', { agent: 'auto', tool: 'crm', scope: 'crm.accounts.read', subject_token: `${alice.slice(0, -4)}AAAA` });
    expect(forged.body).toMatchObject({ verdict: 'denied', reason: 'subject_token_invalid', token_minted: false });
  });
});
