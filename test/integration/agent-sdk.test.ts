/** The agent SDK against a real broker: caching, collapsing concurrent requests, typed errors, retries. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import { isExchangeRecord } from '../../src/attribution/record.js';
import type { Agent } from '../../src/domain/agent.js';
import { AgentClient, ExchangeError } from '../../src/sdk/agent/index.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { keyAgent, reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, TICKETS, testCatalog } from '../support/catalog.js';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, type CryptoKey } from 'jose';

const SECRET = 'agent-sdk-test-secret';
let idp: UpstreamIdp;
let broker: RunningTestBroker;
let keyed: { agent: Agent; privateKey: CryptoKey; kid: string };

beforeAll(async () => {
  const reserved = await reserveBroker();
  idp = await startUpstreamIdp({ audience: reserved.issuer });
  keyed = await keyAgent('sdk-key-agent', { crm: ['crm.accounts.read'], tickets: ['tickets.read'] });
  const secretAgent: Agent = { ...keyed.agent, clientId: 'sdk-secret-agent', authentication: { method: 'client_secret_basic', secretHash: await hashClientSecret(SECRET) } };
  broker = await reserved.start({ trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)], catalog: testCatalog(), agents: [keyed.agent, secretAgent] });
});
afterAll(async () => {
  await broker.close();
  await idp.close();
});

const exchanges = () => broker.sink.records.filter(isExchangeRecord).length;

describe('agent SDK', () => {
  it('exchanges with private_key_jwt, caches per (user token, tool, scope) and collapses concurrent calls', async () => {
    const client = await AgentClient.create({ issuer: broker.issuer, clientId: 'sdk-key-agent', auth: { privateKey: keyed.privateKey, kid: keyed.kid }, allowInsecureLoopback: true });
    const subjectToken = await idp.userToken('alice');
    const before = exchanges();
    const results = await Promise.all(Array.from({ length: 5 }, () => client.getToken({ subjectToken, tool: CRM, scope: 'crm.accounts.read' })));
    expect(new Set(results.map((r) => r.accessToken)).size).toBe(1);
    expect(exchanges() - before).toBe(1);
    expect(results[0]).toMatchObject({ tokenType: 'bearer', scope: 'crm.accounts.read' });
    await client.getToken({ subjectToken, tool: CRM, scope: ['crm.accounts.read'] });
    expect(exchanges() - before).toBe(1);
    await client.getToken({ subjectToken, tool: TICKETS, scope: 'tickets.read' });
    expect(exchanges() - before).toBe(2);
  });

  it('discard(token) drops that one cached token, so the next getToken exchanges again (after a 401 from a tool)', async () => {
    const client = await AgentClient.create({ issuer: broker.issuer, clientId: 'sdk-key-agent', auth: { privateKey: keyed.privateKey, kid: keyed.kid }, allowInsecureLoopback: true });
    const subjectToken = await idp.userToken('alice');
    const before = exchanges();
    const crm = await client.getToken({ subjectToken, tool: CRM, scope: 'crm.accounts.read' });
    const tickets = await client.getToken({ subjectToken, tool: TICKETS, scope: 'tickets.read' });
    expect(client.discard(crm)).toBe(true);
    expect(client.discard(crm.accessToken)).toBe(false);
    const again = await client.getToken({ subjectToken, tool: CRM, scope: 'crm.accounts.read' });
    expect(exchanges() - before).toBe(3);
    expect(decodeJwt(again.accessToken).jti).not.toBe(decodeJwt(crm.accessToken).jti);
    expect(await client.getToken({ subjectToken, tool: TICKETS, scope: 'tickets.read' })).toBe(tickets);
    expect(exchanges() - before).toBe(3);
  });

  it('with dpop: true, generates a key, gets DPoP-bound tokens and builds DPoP headers with a fresh proof each time', async () => {
    const client = await AgentClient.create({ issuer: broker.issuer, clientId: 'sdk-secret-agent', auth: { clientSecret: SECRET }, allowInsecureLoopback: true, dpop: true });
    const token = await client.getToken({ subjectToken: await idp.userToken('alice'), tool: CRM, scope: 'crm.accounts.read' });
    expect(token.tokenType).toBe('dpop');
    expect(client.dpopJkt).toMatch(/^[A-Za-z0-9_-]{43}$/u);
    expect(decodeJwt(token.accessToken).cnf).toEqual({ jkt: client.dpopJkt });
    const first = await token.headers('GET', 'https://crm.example.test/api/accounts/A?x=1');
    const second = await token.headers('GET', 'https://crm.example.test/api/accounts/A?x=1');
    expect(first.authorization).toBe(`DPoP ${token.accessToken}`);
    expect(first.dpop).not.toBe(second.dpop);
    expect(decodeJwt(first.dpop!)).toMatchObject({ htm: 'GET', htu: 'https://crm.example.test/api/accounts/A', ath: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/u) as string });
    const bearer = await AgentClient.create({ issuer: broker.issuer, clientId: 'sdk-secret-agent', auth: { clientSecret: SECRET }, allowInsecureLoopback: true });
    await expect(bearer.dpopProof('GET', 'https://crm.example.test/')).rejects.toThrow(/no DPoP key/u);
    const plain = await bearer.getToken({ subjectToken: await idp.userToken('alice'), tool: CRM, scope: 'crm.accounts.read' });
    expect(await plain.headers('GET', 'https://crm.example.test/api')).toEqual({ authorization: `Bearer ${plain.accessToken}` });
  });

  it('accepts an Ed25519 DPoP key of its own', async () => {
    const keys = await generateKeyPair('Ed25519');
    const client = await AgentClient.create({ issuer: broker.issuer, clientId: 'sdk-key-agent', auth: { privateKey: keyed.privateKey, kid: keyed.kid }, allowInsecureLoopback: true, dpop: keys });
    const token = await client.getToken({ subjectToken: await idp.userToken('alice'), tool: CRM, scope: 'crm.accounts.read' });
    expect(token.tokenType).toBe('dpop');
    expect(decodeJwt(token.accessToken).cnf).toEqual({ jkt: client.dpopJkt });
    expect(decodeProtectedHeader((await token.headers('GET', 'https://crm.example.test/api')).dpop!).jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
  });

  it('throws an ExchangeError carrying the OAuth code, without retrying client errors', async () => {
    const client = await AgentClient.create({ issuer: broker.issuer, clientId: 'sdk-secret-agent', auth: { clientSecret: SECRET }, allowInsecureLoopback: true, backoffMs: 1 });
    const before = exchanges();
    const err = await client.getToken({ subjectToken: await idp.userToken('alice'), tool: 'https://unknown.example/', scope: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExchangeError);
    expect(err).toMatchObject({ code: 'invalid_target', status: 400 });
    expect(exchanges() - before).toBe(1);
  });

  it('retries temporarily_unavailable with backoff and succeeds when the broker recovers', async () => {
    const client = await AgentClient.create({ issuer: broker.issuer, clientId: 'sdk-secret-agent', auth: { clientSecret: SECRET }, allowInsecureLoopback: true, retries: 3, backoffMs: 60 });
    broker.sink.failing = true;
    setTimeout(() => { broker.sink.failing = false; }, 100);
    const token = await client.getToken({ subjectToken: await idp.userToken('bob'), tool: CRM, scope: 'crm.accounts.read' });
    expect(token.accessToken).toMatch(/^eyJ/u);
  });
});
