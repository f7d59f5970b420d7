/**
 * The validation SDK at a downstream service: a Koa tool server protected by it, with tokens minted by a
 * real broker from real upstream user tokens. Covers STANDARDS 29-30 and revocation through the feed.
 */
import Koa from 'koa';
import Router from '@koa/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, generateKeyPair, decodeJwt } from 'jose';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import type { Agent } from '../../src/domain/agent.js';
import { TokenValidator, authenticate, requireScope, protectedResourceMetadata, type ValidatedToken } from '../../src/sdk/validator/index.js';
import { close, listen } from '../../src/server/listen.js';
import type { Server } from 'node:http';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { AFTER_HOURS, CRM, PAYROLL, TICKETS, testCatalog } from '../support/catalog.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../support/token-request.js';

const SECRET = 'validator-test-agent-secret';
let idp: UpstreamIdp;
let broker: RunningTestBroker;
let admin: { key: string; hash: string };
let validatorKey: { key: string; hash: string };
let crm: { validator: TokenValidator; server: Server; url: string };

async function startTool(resource: string, opts: { graceMs?: number } = {}): Promise<{ validator: TokenValidator; server: Server; url: string }> {
  const validator = await TokenValidator.create({ issuer: broker.issuer, resource, revocation: { key: validatorKey.key, graceMs: opts.graceMs ?? 3000 }, actors: { required: true } });
  const app = new Koa();
  const router = new Router();
  router.get('/.well-known/oauth-protected-resource', protectedResourceMetadata({ resource, issuer: broker.issuer, scopes: ['crm.accounts.read', 'crm.accounts.write'] }));
  router.get('/accounts/:id', authenticate(validator), requireScope('crm.accounts.read'), (ctx) => {
    const token = ctx.state.token as ValidatedToken;
    // The tool's own permission: alice may see account A, nobody else may.
    if (ctx.params.id !== 'A' || token.sub !== 'alice') {
      ctx.status = 403;
      ctx.body = { error: 'forbidden', error_description: 'this user may not see that account' };
      return;
    }
    ctx.body = { account: 'A', for: token.sub, via: token.actors };
  });
  router.post('/accounts/:id', authenticate(validator), requireScope('crm.accounts.write'), (ctx) => { ctx.body = { updated: true }; });
  app.use(router.routes());
  const { server, port } = await listen(app.callback(), '127.0.0.1', 0);
  return { validator, server, url: `http://127.0.0.1:${port}` };
}

beforeAll(async () => {
  admin = await createAdminKey('oncall');
  validatorKey = await createAdminKey('crm-service');
  const reserved = await reserveBroker();
  idp = await startUpstreamIdp({ audience: reserved.issuer });
  const agent: Agent = {
    clientId: 'sdk-agent', name: 'SDK agent', owner: 'sec@example.com', status: 'active',
    authentication: { method: 'client_secret_basic', secretHash: await hashClientSecret(SECRET) },
    tools: new Map([['crm', ['crm.accounts.read', 'crm.accounts.write']], ['tickets', ['tickets.read']]]),
    maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test',
  };
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)],
    catalog: testCatalog(),
    agents: [agent],
    config: { adminKeys: [{ id: 'oncall', hash: admin.hash }], validatorKeys: [{ id: 'crm-service', hash: validatorKey.hash }] },
  });
  crm = await startTool(CRM);
});
afterAll(async () => {
  crm.validator.close();
  await close(crm.server);
  await broker.close();
  await idp.close();
});

async function mint(user: string, resource: string, scope: string): Promise<string> {
  const res = await rawPost(broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: await idp.userToken(user), subject_token_type: AT_TYPE, resource, scope }), { authorization: basic('sdk-agent', SECRET) });
  expect(res.status).toBe(200);
  return String(res.body.access_token);
}

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${crm.url}${path}`, { headers });

describe('validation SDK at a tool server', () => {
  it('accepts a broker token and the tool still enforces its own per-user permission', async () => {
    const alice = await mint('alice', CRM, 'crm.accounts.read');
    const ok = await get('/accounts/A', { authorization: `Bearer ${alice}` });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ account: 'A', for: 'alice', via: ['sdk-agent'] });
    expect((await get('/accounts/B', { authorization: `Bearer ${alice}` })).status).toBe(403);
    const bob = await mint('bob', CRM, 'crm.accounts.read');
    expect((await get('/accounts/A', { authorization: `Bearer ${bob}` })).status).toBe(403);
  });

  it('401 with a bare challenge when no token is sent, and ignores a token in the query string', async () => {
    const alice = await mint('alice', CRM, 'crm.accounts.read');
    for (const res of [await get('/accounts/A'), await get(`/accounts/A?access_token=${alice}`)]) {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tool"');
    }
  });

  it('rejects a token minted for another tool (audience confusion) with invalid_token', async () => {
    const forTickets = await mint('alice', TICKETS, 'tickets.read');
    const res = await get('/accounts/A', { authorization: `Bearer ${forTickets}` });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="tool", error="invalid_token"/u);
  });

  it('rejects user tokens, forged tokens, wrong schemes and garbage', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ client_id: 'sdk-agent', scope: 'crm.accounts.read', act: { sub: 'sdk-agent' } })
      .setProtectedHeader({ alg: 'ES256', kid: broker.keys.active.kid, typ: 'at+jwt' })
      .setIssuer(broker.issuer).setSubject('alice').setAudience(CRM).setIssuedAt().setExpirationTime('5m').setJti('f').sign(privateKey);
    for (const authorization of [`Bearer ${await idp.userToken('alice')}`, `Bearer ${forged}`, 'Bearer not.a.jwt', `Basic ${Buffer.from('a:b').toString('base64')}`]) {
      const res = await get('/accounts/A', { authorization });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_(token|request)"/u);
    }
  });

  it('403 insufficient_scope naming the missing scope', async () => {
    const readOnly = await mint('alice', CRM, 'crm.accounts.read');
    const res = await fetch(`${crm.url}/accounts/A`, { method: 'POST', headers: { authorization: `Bearer ${readOnly}` } });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(res.headers.get('www-authenticate')).toContain('scope="crm.accounts.write"');
  });

  it('serves RFC 9728 protected-resource metadata', async () => {
    expect(await (await get('/.well-known/oauth-protected-resource')).json()).toEqual({
      resource: CRM, authorization_servers: [broker.issuer], bearer_methods_supported: ['header'], scopes_supported: ['crm.accounts.read', 'crm.accounts.write'],
    });
  });

  it('rejects a revoked agent\'s live token within the propagation window', async () => {
    const token = await mint('alice', CRM, 'crm.accounts.read');
    expect((await get('/accounts/A', { authorization: `Bearer ${token}` })).status).toBe(200);
    const t0 = Date.now();
    const res = await fetch(`${broker.issuer}/admin/agents/sdk-agent/suspend`, { method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'sdk test' }) });
    expect(res.status).toBe(200);
    await expect.poll(async () => (await get('/accounts/A', { authorization: `Bearer ${token}` })).status, { timeout: 1000, interval: 25 }).toBe(401);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(decodeJwt(token).client_id).toBe('sdk-agent');
    await fetch(`${broker.issuer}/admin/agents/sdk-agent/reinstate`, { method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'done' }) });
  });
});

describe('the audience-confusion matrix', () => {
  it('a token minted for each tool is rejected by the validator of every other tool', async () => {
    const tokens = { [CRM]: await mint('alice', CRM, 'crm.accounts.read'), [TICKETS]: await mint('alice', TICKETS, 'tickets.read') };
    const validators = await Promise.all([CRM, TICKETS, PAYROLL, AFTER_HOURS].map(async (resource) => ({
      resource,
      validator: await TokenValidator.create({ issuer: broker.issuer, resource, revocation: false }),
    })));
    let checked = 0;
    for (const [mintedFor, token] of Object.entries(tokens)) {
      for (const { resource, validator } of validators) {
        const outcome = await validator.validate(`Bearer ${token}`).then(() => 'accepted', (e: unknown) => (e as { code: string }).code);
        expect(outcome, `token for ${mintedFor} at ${resource}`).toBe(resource === mintedFor ? 'accepted' : 'invalid_token');
        checked += 1;
      }
    }
    expect(checked).toBe(8);
    for (const { validator } of validators) validator.close();
  });
});

describe('a validator cut off from the feed', () => {
  it('fails closed (503, status unknown) once no heartbeat arrived for longer than its grace', async () => {
    const reserved = await reserveBroker();
    const other = await reserved.start({
      trustedIssuers: [trustedIssuer(idp.issuer, broker.issuer)], catalog: testCatalog(),
      agents: [{ clientId: 'sdk-agent', name: 'SDK agent', owner: 'sec@example.com', status: 'active', authentication: { method: 'client_secret_basic', secretHash: await hashClientSecret(SECRET) }, tools: new Map([['crm', ['crm.accounts.read']]]), maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test' }],
      config: { validatorKeys: [{ id: 'crm-service', hash: validatorKey.hash }] },
    });
    const res = await rawPost(other.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read' }), { authorization: basic('sdk-agent', SECRET) });
    const token = String(res.body.access_token);
    const validator = await TokenValidator.create({ issuer: other.issuer, resource: CRM, revocation: { key: validatorKey.key, graceMs: 1200 } });
    try {
      expect((await validator.validate(`Bearer ${token}`)).sub).toBe('alice'); // keys now cached
      await other.close();
      await new Promise((r) => setTimeout(r, 1500));
      await expect(validator.validate(`Bearer ${token}`)).rejects.toMatchObject({ status: 503, code: 'temporarily_unavailable' });
    } finally {
      validator.close();
    }
  });
});
