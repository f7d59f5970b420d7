/**
 * Hot reload of scopes/ and clients/ in a real broker: a narrowing change applies to the next exchange and is
 * recorded with its diff; an invalid set changes nothing and is counted, logged and shown; the admin endpoint
 * is guarded by role. Credential changes: reload-credentials.test.ts.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import type { AdminActionRecord } from '../../src/admin/admin-record.js';
import { isExchangeRecord } from '../../src/attribution/record.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import type { RunningTestBroker } from '../support/broker-harness.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../support/token-request.js';
import type { UpstreamIdp } from '../support/upstream-idp.js';
import { configDirs, crmYaml, RELOAD_CRM, startFromFiles } from './config-files.js';

const SECRET = 'reload-test-agent-secret';
const AGENT = 'reload-agent';
let idp: UpstreamIdp;
let broker: RunningTestBroker;
let dirs: { scopes: string; clients: string };
let operator: { key: string; hash: string };
let viewer: { key: string; hash: string };
let secretHash: string;

beforeAll(async () => {
  [operator, viewer] = [await createAdminKey('oncall'), await createAdminKey('auditor')];
  secretHash = await hashClientSecret(SECRET);
  dirs = await configDirs(AGENT, secretHash, 'spare-agent');
  // The broker starts from the same files, through the same loader a reload uses.
  ({ broker, idp } = await startFromFiles({
    catalogDir: dirs.scopes, clientsDir: dirs.clients,
    adminKeys: [{ id: 'oncall', hash: operator.hash }, { id: 'auditor', hash: viewer.hash, role: 'viewer' as const }],
  }));
});
afterAll(async () => {
  await broker.close();
  await idp.close();
});

async function exchange(scope = 'crm.accounts.read crm.accounts.write', clientId = AGENT): Promise<RawResponse> {
  return rawPost(broker.tokenEndpoint, form({
    grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE, resource: RELOAD_CRM, scope,
  }), { authorization: basic(clientId, SECRET) });
}

const reloadRecords = () => broker.sink.records.filter((r): r is AdminActionRecord => r.type === 'admin_action' && r.action === 'reload_config');
const reloads = (result: string) => broker.broker.metrics.reloads.value(result);

describe('hot reload', () => {
  it('narrows a scope: the next exchange is narrowed, and the change is recorded with its diff', async () => {
    const before = await exchange();
    expect(before.status).toBe(200);
    expect(before.body.scope).toBe('crm.accounts.read crm.accounts.write');

    // crm.accounts.write now needs a user scope alice does not have.
    await writeFile(join(dirs.scopes, 'crm.yaml'), crmYaml(['crm.admin']));
    const result = await broker.broker.reloader.reload({ by: 'test' });
    expect(result).toEqual({ ok: true, changed: true, generation: 2, summary: 'tools: ~crm; agents: unchanged' });

    const after = await exchange();
    expect(after.status).toBe(200);
    expect(after.body.scope).toBe('crm.accounts.read');
    expect(reloadRecords().at(-1)).toMatchObject({ by: 'test', reason: 'tools: ~crm; agents: unchanged', target: { kind: 'config' } });
    expect(reloadRecords().at(-1)?.decision).toBeUndefined();
    expect(reloads('ok')).toBe(1);
  });

  it('refuses an invalid set whole: nothing changes, the error is counted, recorded and shown', async () => {
    const generation = broker.broker.reloader.status().generation;
    const good = await exchange();
    // A valid change to the scope file and an invalid agent file in the same set: neither is taken.
    await writeFile(join(dirs.scopes, 'crm.yaml'), crmYaml(['crm.write']));
    await writeFile(join(dirs.clients, 'broken.yaml'), 'client_id: broken\nstatus: sometimes\n');
    const result = await broker.broker.reloader.reload({ by: 'test' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBe('the new set is invalid');
    expect(result.problems.some((p) => p.includes('broken.yaml'))).toBe(true);

    const after = await exchange();
    expect(after.body.scope).toBe(good.body.scope); // still narrowed: the scope change was not taken either
    expect(broker.broker.reloader.status()).toMatchObject({ generation, lastAttempt: { ok: false, by: 'test', error: 'the new set is invalid' } });
    expect(reloads('failed')).toBe(1);
    expect(reloadRecords().at(-1)).toMatchObject({ decision: 'denied', by: 'test' });
    expect(reloadRecords().at(-1)?.reason).toContain('broken.yaml');
    await rm(join(dirs.clients, 'broken.yaml'));

    const shown = await fetch(`${broker.issuer}/admin/config/reload`, { headers: { authorization: `Bearer ${viewer.key}` } });
    expect(shown.status).toBe(200);
    expect(await shown.json()).toMatchObject({ generation, lastAttempt: { ok: false } });
  });

  it('reloads through POST /admin/config/reload for an operator key only', async () => {
    const post = (key: string) => fetch(`${broker.issuer}/admin/config/reload`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
    const denied = await post(viewer.key);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ error: 'insufficient_scope' });
    const anonymous = await fetch(`${broker.issuer}/admin/config/reload`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    const generation = broker.broker.reloader.status().generation;
    const ok = await post(operator.key);
    expect(ok.status).toBe(200);
    // The scope file was restored to the wide version in the refused attempt before: now it is taken.
    expect(await ok.json()).toMatchObject({ ok: true, changed: true, generation: generation + 1, summary: 'tools: ~crm; agents: unchanged' });
    expect(reloadRecords().at(-1)).toMatchObject({ by: 'oncall' });
    expect((await exchange()).body.scope).toBe('crm.accounts.read crm.accounts.write');
  });

  it('removes an agent at once: its next exchange is refused with invalid_client, and recorded', async () => {
    expect((await exchange('crm.accounts.read', 'spare-agent')).status).toBe(200);
    await rm(join(dirs.clients, 'spare-agent.yaml'));
    expect(await broker.broker.reloader.reload({ by: 'test' })).toMatchObject({ ok: true, changed: true, summary: 'tools: unchanged; agents: -spare-agent' });
    const refused = await exchange('crm.accounts.read', 'spare-agent');
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error: 'invalid_client' });
    expect(refused.body.access_token).toBeUndefined();
    expect(broker.sink.records.filter(isExchangeRecord).at(-1)).toMatchObject({ decision: 'denied', reason: 'agent_unknown', agent: { authenticated: false } });
    expect((await exchange()).status).toBe(200);
  });
});
