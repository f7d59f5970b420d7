/**
 * SIGHUP in a real broker process (`tsx src/main.ts`, production mode): a narrowing edit takes effect on the
 * next exchange after the signal; an invalid edit followed by SIGHUP changes nothing and is shown as failed.
 */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import { sharedKeyJson, startBrokerProcess, type BrokerProcess } from '../support/broker-process.js';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { configDirs, crmYaml, RELOAD_CRM } from './config-files.js';

const SECRET = 'sighup-test-agent-secret';
const AGENT = 'sighup-agent';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => { resolve(port); });
    });
  });
}

describe('SIGHUP reloads a running broker process', () => {
  let idp: UpstreamIdp;
  let broker: BrokerProcess;
  let admin: { key: string; hash: string };
  let dirs: { scopes: string; clients: string };

  beforeAll(async () => {
    admin = await createAdminKey('oncall');
    const port = await freePort();
    const issuer = `http://127.0.0.1:${String(port)}`;
    idp = await startUpstreamIdp({ audience: issuer });
    dirs = await configDirs(AGENT, await hashClientSecret(SECRET));
    const yaml = [
      'mode: production', `issuer: ${issuer}`, 'host: 127.0.0.1',
      `catalog_dir: ${dirs.scopes}`, `clients_dir: ${dirs.clients}`, 'keys_dir: $DIR/keys',
      'attribution: { file: $DIR/attribution.jsonl }',
      'admin_keys:', `  - { id: oncall, hash: "${admin.hash}" }`,
      'trusted_issuers:', `  - { issuer: "${idp.issuer}", audiences: ["${issuer}"], algorithms: [ES256] }`, '',
    ].join('\n');
    broker = await startBrokerProcess({ issuer, port, yaml, keyJson: await sharedKeyJson() });
  }, 60_000);
  afterAll(async () => {
    await broker.stop();
    await idp.close();
  });

  const exchange = async () => rawPost(`${broker.url}/token`, form({
    grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE,
    resource: RELOAD_CRM, scope: 'crm.accounts.read crm.accounts.write',
  }), { authorization: basic(AGENT, SECRET) });
  const status = async () => (await fetch(`${broker.url}/admin/config/reload`, { headers: { authorization: `Bearer ${admin.key}` } })).json() as Promise<Record<string, unknown>>;

  it('applies a narrowing edit on SIGHUP, and keeps the set in force when the edit is invalid', async () => {
    expect((await exchange()).body.scope).toBe('crm.accounts.read crm.accounts.write');

    await writeFile(join(dirs.scopes, 'crm.yaml'), crmYaml(['crm.admin']));
    broker.signal('SIGHUP');
    await expect.poll(async () => (await status()).generation, { timeout: 5000 }).toBe(2);
    expect(await status()).toMatchObject({ lastAttempt: { ok: true, by: 'SIGHUP', summary: 'tools: ~crm; agents: unchanged' } });
    const narrowed = await exchange();
    expect(narrowed.status).toBe(200);
    expect(narrowed.body.scope).toBe('crm.accounts.read');

    await writeFile(join(dirs.scopes, 'crm.yaml'), crmYaml(['crm.write'], 'max_ttl: 1 fortnight'));
    broker.signal('SIGHUP');
    await expect.poll(async () => (await status()).lastAttempt, { timeout: 5000 }).toMatchObject({ ok: false, by: 'SIGHUP' });
    expect((await status()).generation).toBe(2);
    expect((await exchange()).body.scope).toBe('crm.accounts.read');

    const metrics = await fetch(`${broker.url}/metrics`, { headers: { authorization: `Bearer ${admin.key}` } });
    const { samples } = parsePrometheusText(await metrics.text());
    expect(sampleValue(samples, 'broker_config_reloads_total', { result: 'ok' })).toBe(1);
    expect(sampleValue(samples, 'broker_config_reloads_total', { result: 'failed' })).toBe(1);
    // The process metrics are on in a real broker process.
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
  });
});
