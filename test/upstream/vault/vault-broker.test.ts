/**
 * The vault wired into a real broker (create-broker.ts with `vault`): the consent flow on the broker's own
 * routes, a person revoking the user through the admin API deletes the connection and revokes it at the
 * SaaS (attributed), and the re-encryption admin action needs an operator key.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../../src/admin/admin-auth.js';
import { MemorySink } from '../../../src/attribution/memory-sink.js';
import { loadSigningKeys } from '../../../src/keys/signing-keys.js';
import { close, listen, serve } from '../../../src/server/listen.js';
import { createBroker, type Broker } from '../../../src/server/create-broker.js';
import { isUpstreamFailure } from '../../../src/upstream/connector.js';
import { connectCallbackUrl } from '../../../src/upstream/connect/connect-routes.js';
import { MemoryVaultStore } from '../../../src/upstream/vault/memory-vault-store.js';
import { createVaultFeature, type VaultFeature } from '../../../src/upstream/vault/vault-feature.js';
import { baseConfig } from '../../support/broker-harness.js';
import { testCatalog } from '../../support/catalog.js';
import { SAAS_USERS, startVaultSaas, type VaultSaas } from '../../support/vault-saas.js';
import { capturedLogger, connectThroughPages, ringOf } from '../../support/vault-bed.js';

describe('vault in the broker', () => {
  let saas: VaultSaas;
  let broker: Broker;
  let feature: VaultFeature;
  let url: string;
  let server: Awaited<ReturnType<typeof listen>>['server'];
  const sink = new MemorySink();
  const store = new MemoryVaultStore();
  let admin: { key: string; hash: string };
  let viewer: { key: string; hash: string };

  beforeAll(async () => {
    admin = await createAdminKey('oncall');
    viewer = await createAdminKey('auditor');
    const listener = await listen(undefined, '127.0.0.1', 0);
    server = listener.server;
    url = `http://127.0.0.1:${String(listener.port)}`;
    saas = await startVaultSaas({ redirectUris: [connectCallbackUrl(url, 'crm')] });
    const ring = ringOf('k1');
    const { log } = capturedLogger();
    feature = createVaultFeature({
      brokerIssuer: url,
      tools: [{ tool: 'crm', issuer: saas.issuer, clientId: saas.clientId, clientAuth: { method: 'client_secret_basic', secret: saas.clientSecret }, scopes: saas.scopes, timeoutMs: 2000 }],
      keys: () => ring, store, log, allowInsecureLoopback: true,
      record: (r) => sink.append(r),
      // TEST STAND-IN for the broker's person sign-in (the console's; see consent-browser.test.ts for the real one).
      signIn: { current: (ctx) => { const sub = ctx.cookies.get('test_person'); return Promise.resolve(sub ? { sub } : undefined); }, signInUrl: () => '/signin/login' },
    });
    broker = createBroker({
      config: baseConfig(url, { keysDir: await mkdtemp(join(tmpdir(), 'vault-broker-')), adminKeys: [{ id: 'oncall', hash: admin.hash }, { id: 'auditor', hash: viewer.hash, role: 'viewer' }] }),
      catalog: testCatalog(), agents: { agents: new Map() }, keys: await loadSigningKeys(await mkdtemp(join(tmpdir(), 'vault-broker-keys-')), { generateIfMissing: true }),
      sink, log, vault: feature,
    });
    broker.app.use(async (ctx, next) => {
      if (ctx.path === '/test-only/sign-in' && typeof ctx.query.sub === 'string') {
        ctx.cookies.set('test_person', ctx.query.sub, { httpOnly: true, sameSite: 'lax' });
        ctx.body = 'signed in';
        return;
      }
      await next();
    });
    serve(server, broker.callback());
  });

  afterAll(async () => {
    broker.close();
    await close(server, 0);
    await saas.close();
  });

  const admin$ = (path: string, body: unknown, key = admin.key) => fetch(`${url}${path}`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });

  it('connects on the broker\'s own /connect routes, then a person revoking the user deletes and revokes the connection', async () => {
    const page = await connectThroughPages({ broker: url, saas }, 'alice', SAAS_USERS.alice!);
    expect(page.text).toContain('Connected');
    const obtained = await feature.connector().obtain({ user: { sub: 'alice', upstreamSubject: 'alice', issuer: 'x' }, tool: 'crm', upstreamScopes: ['crm.read'], brokerTokenJti: 'j', nowMs: Date.now() });
    expect(isUpstreamFailure(obtained)).toBe(false);

    const revoked = saas.counts.revoked;
    const res = await admin$('/admin/revocations', { kind: 'user', value: 'alice', reason: 'left the company' });
    expect(res.status).toBe(201);
    expect(await store.get({ user: 'alice', tool: 'crm', upstream: saas.issuer })).toBeUndefined();
    expect(saas.counts.revoked).toBe(revoked + 1);
    const actions = sink.records.map((r) => ('action' in r ? `${r.action}:${r.by}` : ''));
    expect(actions).toEqual(expect.arrayContaining(['vault.connect:user:alice', 'revoke.user:oncall', 'vault.disconnect:oncall']));
  });

  it('re-encryption: an operator key only, a reason, attributed', async () => {
    expect((await admin$('/admin/vault/reencrypt', { reason: 'rotation' }, 'oncall.not-the-secret-but-long-enough')).status).toBe(401);
    const asViewer = await admin$('/admin/vault/reencrypt', { reason: 'rotation' }, viewer.key);
    expect(asViewer.status).toBe(403);
    expect((await admin$('/admin/vault/reencrypt', {})).status).toBe(400);
    const ok = await admin$('/admin/vault/reencrypt', { reason: 'rotation' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ reencrypted: 0, current: 0, unreadable: 0 });
    expect(sink.records.some((r) => 'action' in r && r.action === 'vault.reencrypt')).toBe(true);
  });
});
