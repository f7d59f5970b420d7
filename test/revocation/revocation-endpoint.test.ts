/**
 * `/revoke` (RFC 7009) authenticates agents with the token endpoint's own client authentication
 * (src/token-endpoint/steps/client-authentication.ts), over two replicas sharing one Redis:
 * private_key_jwt works and its assertion is used once across both endpoints and both replicas (RFC 7523 §3
 * item 7); exactly one method per request (RFC 6749 §2.3); a failed authentication revokes nothing and is
 * counted in the failure ledger; no other spelling of the path reaches a revocation endpoint.
 */
import { decodeJwt, type CryptoKey } from 'jose';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthenticationFailuresRecord } from '../../src/auth/failure-ledger.js';
import { RedisState } from '../../src/state/redis-state.js';
import { secretAgent } from '../support/attack-bed.js';
import { clientAssertion, JWT_BEARER } from '../support/attack-kit.js';
import { keyAgent, reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';

const redisUp = await requireRedis('/revoke over two replicas sharing Redis');
const SECRET = 'revocation-endpoint-test-secret';
const prefix = uniquePrefix();
let idp: UpstreamIdp;
let a: RunningTestBroker;
let b: RunningTestBroker;
let key: { privateKey: CryptoKey; kid: string };
const connections: Redis[] = [];

beforeAll(async () => {
  if (!redisUp) return;
  const reservedA = await reserveBroker();
  // A second replica of the same broker: the same issuer identifier and keys, its own port.
  const reservedB = await reserveBroker({ issuer: reservedA.issuer });
  idp = await startUpstreamIdp({ audience: reservedA.issuer });
  const ka = await keyAgent('key-agent', { crm: ['crm.accounts.read'] });
  key = { privateKey: ka.privateKey, kid: ka.kid };
  const agents = [ka.agent, await secretAgent('secret-agent', SECRET, { crm: ['crm.accounts.read'] })];
  const state = () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    connections.push(redis);
    return new RedisState(redis, prefix);
  };
  const common = { trustedIssuers: [trustedIssuer(idp.issuer, reservedA.issuer)], catalog: testCatalog(), agents };
  a = await reservedA.start({ ...common, state: state() });
  b = await reservedB.start({ ...common, state: state(), keys: a.keys });
});
afterAll(async () => {
  if (!redisUp) return;
  await a.close();
  await b.close();
  await idp.close();
  for (const redis of connections) redis.disconnect();
  await cleanupPrefix(prefix);
});

const urlOf = (replica: RunningTestBroker) => replica.tokenEndpoint.replace(/\/token$/u, '');
const assertion = () => clientAssertion('key-agent', key.privateKey, key.kid, a.issuer);
const byAssertion = (value: string) => ({ client_assertion: value, client_assertion_type: JWT_BEARER });

async function mintWithAssertion(value: string): Promise<RawResponse> {
  return rawPost(a.tokenEndpoint, form({
    grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read',
    ...byAssertion(value),
  }));
}
async function mint(): Promise<string> {
  const res = await mintWithAssertion(await assertion());
  expect(res.status, res.text).toBe(200);
  return String(res.body.access_token);
}
const revokeAt = (replica: RunningTestBroker, params: Record<string, string>, headers: Record<string, string> = {}, path = '/revoke') =>
  rawPost(`${urlOf(replica)}${path}`, form(params), headers);
const ruleFor = async (token: string) => (await a.state.listRevocations()).find((r) => r.kind === 'token' && r.value === decodeJwt(token).jti);
/** The failure ledger's records of /revoke (aggregated per source; written when the broker drains). */
async function revokeFailures(replica: RunningTestBroker): Promise<AuthenticationFailuresRecord[]> {
  await replica.broker.drain();
  return replica.sink.records.filter((r): r is AuthenticationFailuresRecord => r.type === 'authentication_failures' && r.surface === 'revoke');
}
const counted = (records: readonly AuthenticationFailuresRecord[], reason: keyof AuthenticationFailuresRecord['reasons']) =>
  records.reduce((n, r) => n + (r.reasons[reason] ?? 0), 0);

describe.runIf(redisUp)('/revoke client authentication', () => {
  it('private_key_jwt: the agent revokes its own token; the same assertion is refused at the other replica', async () => {
    const token = await mint();
    const used = await assertion();
    const ok = await revokeAt(a, { token, ...byAssertion(used) });
    expect(ok.status, ok.text).toBe(200);
    expect(await ruleFor(token)).toMatchObject({ id: `token:${String(decodeJwt(token).jti)}` });
    expect(a.sink.records.at(-1)).toMatchObject({ type: 'admin_action', action: 'revoke.token', by: 'agent:key-agent' });

    const other = await mint();
    const before = counted(await revokeFailures(b), 'assertion_invalid');
    const replayed = await revokeAt(b, { token: other, ...byAssertion(used) });
    expect(replayed.status).toBe(401);
    expect(replayed.body).toEqual({ error: 'invalid_client', error_description: 'client assertion tokens must only be used once' });
    expect(await ruleFor(other)).toBeUndefined();
    expect(b.sink.records.some((r) => r.type === 'admin_action' && r.action === 'revoke.token')).toBe(false);
    const failures = await revokeFailures(b);
    expect(counted(failures, 'assertion_invalid')).toBe(before + 1);
    expect(failures.at(-1)).toMatchObject({ surface: 'revoke', ids: { 'key-agent': 1 } });
  });

  it('private_key_jwt: an assertion addressed to /revoke itself is accepted there, and refused at /token', async () => {
    const token = await mint();
    const toRevoke = await clientAssertion('key-agent', key.privateKey, key.kid, `${a.issuer}/revoke`);
    const ok = await revokeAt(a, { token, ...byAssertion(toRevoke) });
    expect(ok.status, ok.text).toBe(200);
    expect(await ruleFor(token)).toMatchObject({ id: `token:${String(decodeJwt(token).jti)}` });
    const before = a.sink.records.length;
    const atToken = await mintWithAssertion(await clientAssertion('key-agent', key.privateKey, key.kid, `${a.issuer}/revoke`));
    expect(atToken.status).toBe(401);
    expect(atToken.body).toMatchObject({ error: 'invalid_client' });
    expect(atToken.body).not.toHaveProperty('access_token');
    expect(a.sink.records.slice(before)).toEqual([expect.objectContaining({ type: 'token_exchange', decision: 'denied' })]);
  });

  it('one replay cache for both endpoints: an assertion spent at /token is refused at /revoke', async () => {
    const spent = await assertion();
    const minted = await mintWithAssertion(spent);
    expect(minted.status, minted.text).toBe(200);
    const token = String(minted.body.access_token);
    const before = counted(await revokeFailures(b), 'assertion_invalid');
    const res = await revokeAt(b, { token, ...byAssertion(spent) });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_client', error_description: 'client assertion tokens must only be used once' });
    expect(await ruleFor(token)).toBeUndefined();
    expect(counted(await revokeFailures(b), 'assertion_invalid')).toBe(before + 1);
  });

  it('exactly one method: Basic with a body client_secret, or with an assertion, is 400 and revokes nothing', async () => {
    const token = await mint();
    const before = counted(await revokeFailures(a), 'malformed');
    for (const extra of [{ client_secret: SECRET }, byAssertion(await assertion())]) {
      const res = await revokeAt(a, { token, ...extra }, { authorization: basic('secret-agent', SECRET) });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: 'client authentication must only be provided using one mechanism' });
    }
    expect(await ruleFor(token)).toBeUndefined();
    expect(counted(await revokeFailures(a), 'malformed')).toBe(before + 2);
  });

  it('a wrong secret: 401 invalid_client with a Basic challenge, nothing revoked, the failure counted', async () => {
    const token = await mint();
    const before = counted(await revokeFailures(a), 'wrong_secret');
    const res = await revokeAt(a, { token }, { authorization: basic('secret-agent', 'not-the-secret') });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_client', error_description: 'invalid secret provided' });
    expect(res.headers.get('www-authenticate')).toBe(`Basic realm="${a.issuer}", error="invalid_client"`);
    expect(await ruleFor(token)).toBeUndefined();
    expect(counted(await revokeFailures(a), 'wrong_secret')).toBe(before + 1);
  });

  it('no other spelling of the path reaches a revocation endpoint (the agent-status guard cannot be stepped around)', async () => {
    await a.state.setAgentOverride('secret-agent', { status: 'suspended', reason: 'test', by: 'oncall', at: Math.floor(Date.now() / 1000) });
    try {
      // Written straight into Redis: replica A's mirror sees it within its poll interval (100 ms), so the guard
      // is first shown in force; then no other spelling of the path gets past it.
      await expect.poll(async () => (await revokeAt(a, { token: 'x' }, { authorization: basic('secret-agent', SECRET) })).status, { timeout: 2000, interval: 50 }).toBe(400);
      for (const path of ['/Revoke', '/revoke/', '/REVOKE']) {
        const res = await revokeAt(a, { token: 'x' }, { authorization: basic('secret-agent', SECRET) }, path);
        expect(res.status, path).toBe(404);
      }
      const guarded = await revokeAt(a, { token: 'x' }, { authorization: basic('secret-agent', SECRET) });
      expect(guarded.status).toBe(400);
      expect(guarded.body).toMatchObject({ error: 'unauthorized_client' });
    } finally {
      await a.state.setAgentOverride('secret-agent', null);
    }
  });
});
