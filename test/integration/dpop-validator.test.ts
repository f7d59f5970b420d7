/**
 * DPoP at a downstream service (RFC 9449 §7): the sample CRM tool behind the validation SDK, tokens from a
 * real broker via the agent SDK holding a DPoP key, user tokens from the real upstream IdP. The legitimate
 * flow works end to end; a stolen DPoP-bound token is useless without the key, and every proof that does
 * not match this very request is refused with 401 and the RFC 9449 §7.1 challenge.
 */
import { request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { isExchangeRecord } from '../../src/attribution/record.js';
import { sampleCrmApp } from '../../src/dev/sample-crm-server.js';
import { AgentClient, type ToolToken } from '../../src/sdk/agent/index.js';
import { TokenValidator } from '../../src/sdk/validator/index.js';
import { close, listen } from '../../src/server/listen.js';
import { secretAgent } from '../support/attack-bed.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { dpopKey, proof, type DpopTestKey } from '../support/dpop-kit.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';

const SECRET = 'dpop-validator-agent-secret';
const ALGS = 'ES256 ES384 EdDSA Ed25519 PS256 RS256';
const challenge = (error: string) => new RegExp(`^DPoP realm="tool", error="${error}", error_description="[ -~]+", algs="${ALGS}"$`, 'u');

let idp: UpstreamIdp;
let broker: RunningTestBroker;
let validator: TokenValidator;
let tool: { server: Server; url: string };
let agentKey: DpopTestKey;
let attackerKey: DpopTestKey;
let client: AgentClient;
let validatorKey: { key: string; hash: string };

beforeAll(async () => {
  validatorKey = await createAdminKey('crm-service');
  const reserved = await reserveBroker();
  idp = await startUpstreamIdp({ audience: reserved.issuer });
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)],
    catalog: testCatalog(),
    agents: [
      await secretAgent('dpop-agent', SECRET, { crm: ['crm.accounts.read', 'crm.accounts.write'] }, { dpop: 'required' }),
      await secretAgent('bearer-agent', SECRET, { crm: ['crm.accounts.read'] }),
    ],
    config: { validatorKeys: [{ id: 'crm-service', hash: validatorKey.hash }] },
  });
  validator = await TokenValidator.create({ issuer: broker.issuer, resource: CRM, revocation: { key: validatorKey.key }, actors: { required: true } });
  const { server, port } = await listen(sampleCrmApp(validator, { resource: CRM, issuer: broker.issuer }).callback(), '127.0.0.1', 0);
  tool = { server, url: `http://127.0.0.1:${port}` };
  agentKey = await dpopKey();
  attackerKey = await dpopKey();
  client = await AgentClient.create({ issuer: broker.issuer, clientId: 'dpop-agent', auth: { clientSecret: SECRET }, allowInsecureLoopback: true, dpop: agentKey });
});
afterAll(async () => {
  validator.close();
  await close(tool.server);
  await broker.close();
  await idp.close();
});

const exchanges = () => broker.sink.records.filter(isExchangeRecord).length;
const aliceToken = async (scope = 'crm.accounts.read', subjectToken?: string): Promise<ToolToken> =>
  client.getToken({ subjectToken: subjectToken ?? await idp.userToken('alice'), tool: CRM, scope });
/** An unbound (Bearer) broker token for alice, from an agent without DPoP. */
async function bearerToken(): Promise<string> {
  const res = await rawPost(broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read' }), { authorization: basic('bearer-agent', SECRET) });
  expect(res.body.token_type).toBe('Bearer');
  return String(res.body.access_token);
}
const call = (path: string, headers: Record<string, string>, method = 'GET') => fetch(`${tool.url}${path}`, { method, headers });

async function expectRefused(res: Response, status: number, error: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get('www-authenticate')).toMatch(challenge(error));
  expect(await res.json()).toMatchObject({ error });
}

describe('the sample CRM flow with DPoP, through the agent SDK', () => {
  it('exchanges with a proof, gets a bound token, and calls the tool with a fresh proof per request', async () => {
    const before = exchanges();
    const subjectToken = await idp.userToken('alice');
    const token = await aliceToken('crm.accounts.read', subjectToken);
    expect(token.tokenType).toBe('dpop');
    expect(token.dpopJkt).toBe(client.dpopJkt);
    expect(decodeJwt(token.accessToken).cnf).toEqual({ jkt: client.dpopJkt });
    const url = `${tool.url}/accounts/A`;
    const ok = await fetch(url, { headers: await token.headers('GET', url) });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ id: 'A', read_for: 'alice', via: ['dpop-agent'] });
    // The tool still applies its own per-user rule.
    const other = `${tool.url}/accounts/B`;
    expect((await fetch(other, { headers: await token.headers('GET', other) })).status).toBe(403);
    // Cached: no new exchange; a second request with a new proof works.
    const again = await aliceToken('crm.accounts.read', subjectToken);
    expect(again.accessToken).toBe(token.accessToken);
    expect((await fetch(url, { headers: await again.headers('GET', url) })).status).toBe(200);
    expect(exchanges() - before).toBe(1);
  });

  it('writes with a POST proof and the write scope', async () => {
    const token = await aliceToken('crm.accounts.read crm.accounts.write');
    const url = `${tool.url}/accounts/A`;
    const res = await fetch(url, { method: 'POST', headers: await token.headers('POST', url) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ updated_for: 'alice' });
  });
});

describe('the sample tool\'s RFC 9728 metadata', () => {
  it('advertises DPoP algorithms and that DPoP is not required there', async () => {
    expect(await (await fetch(`${tool.url}/.well-known/oauth-protected-resource`)).json()).toMatchObject({
      resource: CRM, dpop_signing_alg_values_supported: ALGS.split(' '), dpop_bound_access_tokens_required: false,
    });
  });
});

describe('introspection of a DPoP-bound token (RFC 9449 §6.2)', () => {
  it('reports cnf.jkt and token_type DPoP; an unbound token stays Bearer without cnf', async () => {
    const { accessToken } = await aliceToken();
    const introspect = async (token: string) => (await rawPost(`${broker.issuer}/introspect`, form({ token }), { authorization: `Bearer ${validatorKey.key}` })).body;
    expect(await introspect(accessToken)).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: client.dpopJkt } });
    const bearer = await introspect(await bearerToken());
    expect(bearer).toMatchObject({ active: true, token_type: 'Bearer' });
    expect(bearer.cnf).toBeUndefined();
  });
});

describe('a stolen DPoP-bound token at the validator', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('replayed without a proof → 401 invalid_dpop_proof', async () => {
    const { accessToken } = await aliceToken();
    await expectRefused(await call('/accounts/A', { authorization: `DPoP ${accessToken}` }), 401, 'invalid_dpop_proof');
  });

  it('presented as a Bearer token → 401 invalid_token with a DPoP challenge (RFC 9449 §7.2)', async () => {
    const { accessToken } = await aliceToken();
    await expectRefused(await call('/accounts/A', { authorization: `Bearer ${accessToken}` }), 401, 'invalid_token');
    // Even with a valid proof attached: the scheme must be DPoP.
    const url = `${tool.url}/accounts/A`;
    await expectRefused(await call('/accounts/A', { authorization: `Bearer ${accessToken}`, dpop: proof(agentKey, { method: 'GET', url, accessToken }) }), 401, 'invalid_token');
  });

  it('with a proof by another key (the thief\'s own) → 401 invalid_token: wrong key binding', async () => {
    const { accessToken } = await aliceToken();
    const url = `${tool.url}/accounts/A`;
    const res = await call('/accounts/A', { authorization: `DPoP ${accessToken}`, dpop: proof(attackerKey, { method: 'GET', url, accessToken }) });
    await expectRefused(res, 401, 'invalid_token');
  });

  it.each([
    ['another URL (path)', (t: string) => proof(agentKey, { method: 'GET', url: `${tool.url}/accounts/B`, accessToken: t })],
    ['another URL (host)', (t: string) => proof(agentKey, { method: 'GET', url: 'https://crm.example.test/api/accounts/A', accessToken: t })],
    ['another method (POST proof on a GET)', (t: string) => proof(agentKey, { method: 'POST', url: `${tool.url}/accounts/A`, accessToken: t })],
    ['wrong ath (a proof made for another token)', () => proof(agentKey, { method: 'GET', url: `${tool.url}/accounts/A`, accessToken: 'another-token' })],
    ['no ath', () => proof(agentKey, { method: 'GET', url: `${tool.url}/accounts/A` })],
    ['stale iat', (t: string) => proof(agentKey, { method: 'GET', url: `${tool.url}/accounts/A`, accessToken: t, claims: { iat: now() - 300 } })],
    ['future iat', (t: string) => proof(agentKey, { method: 'GET', url: `${tool.url}/accounts/A`, accessToken: t, claims: { iat: now() + 120 } })],
    ['alg none', (t: string) => proof(agentKey, { method: 'GET', url: `${tool.url}/accounts/A`, accessToken: t, header: { alg: 'none' }, signer: () => '' })],
    ['bad signature', (t: string) => proof(agentKey, { method: 'GET', url: `${tool.url}/accounts/A`, accessToken: t, tamper: true })],
    ['malformed', () => 'not.a-proof'],
  ])('with a proof for %s → 401 invalid_dpop_proof', async (_name, make) => {
    const { accessToken } = await aliceToken();
    await expectRefused(await call('/accounts/A', { authorization: `DPoP ${accessToken}`, dpop: make(accessToken) }), 401, 'invalid_dpop_proof');
  });

  it('with a replayed proof → the first request passes, the replay gets 401 invalid_dpop_proof', async () => {
    const { accessToken } = await aliceToken();
    const dpop = proof(agentKey, { method: 'GET', url: `${tool.url}/accounts/A`, accessToken });
    expect((await call('/accounts/A', { authorization: `DPoP ${accessToken}`, dpop })).status).toBe(200);
    await expectRefused(await call('/accounts/A', { authorization: `DPoP ${accessToken}`, dpop }), 401, 'invalid_dpop_proof');
  });

  it('with two DPoP header lines → 401 invalid_dpop_proof', async () => {
    const { accessToken } = await aliceToken();
    const url = `${tool.url}/accounts/A`;
    const [a, b] = [proof(agentKey, { method: 'GET', url, accessToken }), proof(agentKey, { method: 'GET', url, accessToken })];
    const res = await new Promise<{ status: number; challenge: string | undefined }>((resolve, reject) => {
      const req = httpRequest(url, { headers: { authorization: `DPoP ${accessToken}`, dpop: [a, b] } }, (r) => {
        r.resume();
        r.on('end', () => { resolve({ status: r.statusCode ?? 0, challenge: r.headers['www-authenticate'] }); });
      });
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(401);
    expect(res.challenge).toMatch(challenge('invalid_dpop_proof'));
  });

  it('an unbound token sent with the DPoP scheme → 401 invalid_token', async () => {
    const accessToken = await bearerToken();
    const url = `${tool.url}/accounts/A`;
    expect((await call('/accounts/A', { authorization: `Bearer ${accessToken}` })).status).toBe(200);
    await expectRefused(await call('/accounts/A', { authorization: `DPoP ${accessToken}`, dpop: proof(agentKey, { method: 'GET', url, accessToken }) }), 401, 'invalid_token');
  });
});

describe('the plain validation function', () => {
  it('checks the proof against the public base URL behind a proxy, and refuses a DPoP token without request context', async () => {
    const behindProxy = await TokenValidator.create({ issuer: broker.issuer, resource: CRM, revocation: false, dpop: { publicBaseUrl: 'https://crm.example.com/api/' } });
    try {
      const { accessToken } = await aliceToken();
      const publicUrl = 'https://crm.example.com/api/accounts/A';
      const ok = await behindProxy.validate(`DPoP ${accessToken}`, { method: 'GET', url: '/accounts/A?full=1', dpop: proof(agentKey, { method: 'GET', url: publicUrl, accessToken }) });
      expect(ok).toMatchObject({ sub: 'alice', dpopJkt: client.dpopJkt });
      // A proof for the internal address the proxy forwards to is not a proof for the public URL.
      await expect(behindProxy.validate(`DPoP ${accessToken}`, { method: 'GET', url: '/accounts/A', dpop: proof(agentKey, { method: 'GET', url: `${tool.url}/accounts/A`, accessToken }) }))
        .rejects.toMatchObject({ status: 401, code: 'invalid_dpop_proof', scheme: 'DPoP' });
      await expect(behindProxy.validate(`DPoP ${accessToken}`)).rejects.toMatchObject({ status: 401, code: 'invalid_dpop_proof' });
      await expect(behindProxy.validate(`Bearer ${accessToken}`)).rejects.toMatchObject({ status: 401, code: 'invalid_token', scheme: 'DPoP' });
    } finally {
      behindProxy.close();
    }
  });

  it('caps the proofs one key may have remembered (429 + Retry-After for that key, others unaffected) and fails closed when the cache is full (503)', async () => {
    const small = await TokenValidator.create({ issuer: broker.issuer, resource: CRM, revocation: false, dpop: { replayCacheSize: 3, replayCachePerKey: 2 } });
    const { server, port } = await listen(sampleCrmApp(small, { resource: CRM, issuer: broker.issuer }).callback(), '127.0.0.1', 0);
    const other = await AgentClient.create({ issuer: broker.issuer, clientId: 'dpop-agent', auth: { clientSecret: SECRET }, allowInsecureLoopback: true, dpop: attackerKey });
    try {
      const url = `http://127.0.0.1:${port}/accounts/A`;
      const flood = await aliceToken();
      const fresh = async (token: ToolToken) => fetch(url, { headers: await token.headers('GET', url) });
      expect((await fresh(flood)).status).toBe(200);
      expect((await fresh(flood)).status).toBe(200);
      const capped = await fresh(flood);
      expect(capped.status).toBe(429);
      expect(capped.headers.get('retry-after')).toBe('71'); // the replay window: 60 s max age + 2 × 5 s clock tolerance + 1 s
      expect(capped.headers.get('www-authenticate')).toBeNull();
      expect(await capped.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'too many DPoP proofs by this key; retry later' });
      // Another client's key still has room: the flood did not lock it out.
      const theirs = await other.getToken({ subjectToken: await idp.userToken('alice'), tool: CRM, scope: 'crm.accounts.read' });
      expect(theirs.dpopJkt).toBe(other.dpopJkt);
      expect((await fresh(theirs)).status).toBe(200);
      // Three live entries fill the cache: the next new proof cannot be remembered, so it is refused.
      const full = await fresh(theirs);
      expect(full.status).toBe(503);
      expect(Number(full.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await full.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'the DPoP replay cache is full' });
    } finally {
      await close(server);
      small.close();
    }
  });

  it('with dpop.required, refuses unbound bearer tokens and challenges with DPoP when no token is sent', async () => {
    const strict = await TokenValidator.create({ issuer: broker.issuer, resource: CRM, revocation: false, dpop: { required: true } });
    try {
      const accessToken = await bearerToken();
      await expect(strict.validate(`Bearer ${accessToken}`)).rejects.toMatchObject({ status: 401, code: 'invalid_token', scheme: 'DPoP' });
      await expect(strict.validate(undefined)).rejects.toMatchObject({ status: 401, code: 'invalid_request', scheme: 'DPoP' });
      // The lenient validator still accepts the same unbound bearer token.
      expect((await validator.validate(`Bearer ${accessToken}`)).sub).toBe('alice');
    } finally {
      strict.close();
    }
  });
});
