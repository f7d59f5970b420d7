/**
 * The agent SDK under rate limits and with many users: it never asks again before a 429's Retry-After
 * (each rate-limited request counts towards the broker's kill switch), and its token cache is bounded.
 * Against a real broker, and against a real local HTTP server that answers 429 / 503 with Retry-After.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isExchangeRecord } from '../../src/attribution/record.js';
import { AgentClient, ExchangeError } from '../../src/sdk/agent/index.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { keyAgent, reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, TICKETS, PAYROLL, testCatalog } from '../support/catalog.js';

let idp: UpstreamIdp;
let broker: RunningTestBroker;
let keyed: Awaited<ReturnType<typeof keyAgent>>;

beforeAll(async () => {
  const reserved = await reserveBroker();
  idp = await startUpstreamIdp({ audience: reserved.issuer });
  keyed = await keyAgent('limited-agent', { crm: ['crm.accounts.read', 'crm.accounts.write'], tickets: ['tickets.read'], payroll: ['payroll.read'] });
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)],
    catalog: testCatalog(),
    agents: [keyed.agent],
    config: { rateLimits: { perAgent: { limit: 1, windowMs: 60_000 } } },
  });
});
afterAll(async () => {
  await broker.close();
  await idp.close();
});

const rateLimited = () => broker.sink.records.filter(isExchangeRecord).filter((r) => r.reason === 'rate_limited').length;

describe('agent SDK and 429', () => {
  it('five refused calls make one rate-limited request, and the next request waits for Retry-After', async () => {
    const client = await AgentClient.create({ issuer: broker.issuer, clientId: 'limited-agent', auth: { privateKey: keyed.privateKey, kid: keyed.kid }, allowInsecureLoopback: true, backoffMs: 1 });
    const subjectToken = await idp.userToken('alice');
    await client.getToken({ subjectToken, tool: CRM, scope: 'crm.accounts.read' });
    const before = rateLimited();
    const requests = [
      { tool: CRM, scope: 'crm.accounts.write' }, { tool: TICKETS, scope: 'tickets.read' }, { tool: PAYROLL, scope: 'payroll.read' },
      { tool: CRM, scope: 'crm.accounts.read crm.accounts.write' }, { tool: CRM, scope: 'crm.accounts.write' },
    ];
    const errors: ExchangeError[] = [];
    for (const r of requests) {
      const err = await client.getToken({ subjectToken, ...r }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExchangeError);
      errors.push(err as ExchangeError);
    }
    expect(rateLimited() - before).toBe(1);
    for (const err of errors) expect(err).toMatchObject({ code: 'temporarily_unavailable', status: 429 });
    const retryAfterMs = errors[0]!.retryAfterMs!;
    expect(retryAfterMs).toBeGreaterThanOrEqual(1000);
    for (const err of errors.slice(1)) expect(err.retryAfterMs).toBeGreaterThan(0);
    // A cached token is still served while rate limited.
    await expect(client.getToken({ subjectToken, tool: CRM, scope: 'crm.accounts.read' })).resolves.toMatchObject({ scope: 'crm.accounts.read' });

    await new Promise((r) => setTimeout(r, retryAfterMs + 100));
    await client.getToken({ subjectToken, tool: TICKETS, scope: 'tickets.read' }).catch(() => undefined);
    expect(rateLimited() - before).toBe(2);
  });
});

interface Scripted { readonly url: string; readonly tokenRequests: number[]; close(): Promise<void> }

/** A broker stand-in: metadata, and a token endpoint answering `answers[i]` to its i-th request (then 200). */
async function scriptedBroker(answers: readonly { status: number; retryAfter?: string }[], expiresIn = 600): Promise<Scripted> {
  let url = '';
  const tokenRequests: number[] = [];
  let issued = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/.well-known/oauth-authorization-server') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: url, token_endpoint: `${url}/token` }));
      return;
    }
    req.resume();
    req.on('end', () => {
      const answer = answers[tokenRequests.length];
      tokenRequests.push(performance.now());
      if (answer) {
        res.writeHead(answer.status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...(answer.retryAfter ? { 'retry-after': answer.retryAfter } : {}) });
        res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'scripted' }));
      } else {
        issued += 1;
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ access_token: `token-${issued}`, token_type: 'Bearer', expires_in: expiresIn, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', scope: 's' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, tokenRequests, close: async () => { server.closeAllConnections(); await new Promise<void>((r) => server.close(() => { r(); })); } };
}

function clientFor(s: Scripted, extra: Partial<Parameters<typeof AgentClient.create>[0]> = {}): Promise<AgentClient> {
  return AgentClient.create({ issuer: s.url, clientId: 'agent', auth: { clientSecret: 'scripted-client-secret' }, allowInsecureLoopback: true, backoffMs: 1, ...extra });
}

describe('agent SDK against a local server answering with Retry-After', () => {
  it('by default a 429 is not retried: one request, and none until Retry-After has passed', async () => {
    const s = await scriptedBroker([{ status: 429, retryAfter: '1' }]);
    try {
      const client = await clientFor(s);
      for (let i = 0; i < 5; i += 1) await expect(client.getToken({ subjectToken: `u${i}`, tool: 'https://t.example/', scope: 's' })).rejects.toMatchObject({ status: 429 });
      expect(s.tokenRequests).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 1100));
      await expect(client.getToken({ subjectToken: 'later', tool: 'https://t.example/', scope: 's' })).resolves.toMatchObject({ accessToken: 'token-1' });
      expect(s.tokenRequests).toHaveLength(2);
    } finally {
      await s.close();
    }
  });

  it('with maxRetryAfterMs, a 429 is retried only once Retry-After has passed', async () => {
    const s = await scriptedBroker([{ status: 429, retryAfter: '1' }]);
    try {
      const client = await clientFor(s, { maxRetryAfterMs: 2000 });
      await expect(client.getToken({ subjectToken: 'u', tool: 'https://t.example/', scope: 's' })).resolves.toMatchObject({ accessToken: 'token-1' });
      expect(s.tokenRequests).toHaveLength(2);
      expect(s.tokenRequests[1]! - s.tokenRequests[0]!).toBeGreaterThanOrEqual(990);
    } finally {
      await s.close();
    }
  });

  it('a 429 asking for longer than maxRetryAfterMs fails at once', async () => {
    const s = await scriptedBroker([{ status: 429, retryAfter: '30' }]);
    try {
      const client = await clientFor(s, { maxRetryAfterMs: 2000 });
      const started = performance.now();
      await expect(client.getToken({ subjectToken: 'u', tool: 'https://t.example/', scope: 's' })).rejects.toMatchObject({ status: 429, retryAfterMs: 30_000 });
      expect(performance.now() - started).toBeLessThan(1000);
      expect(s.tokenRequests).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('a 503 with Retry-After is retried no sooner than it says, even with a short backoff', async () => {
    const s = await scriptedBroker([{ status: 503, retryAfter: '1' }]);
    try {
      const client = await clientFor(s);
      await expect(client.getToken({ subjectToken: 'u', tool: 'https://t.example/', scope: 's' })).resolves.toMatchObject({ accessToken: 'token-1' });
      expect(s.tokenRequests[1]! - s.tokenRequests[0]!).toBeGreaterThanOrEqual(990);
    } finally {
      await s.close();
    }
  });
});

describe('agent SDK token cache', () => {
  it('holds at most maxCachedTokens tokens, evicting the oldest', async () => {
    const s = await scriptedBroker([]);
    try {
      const client = await clientFor(s, { maxCachedTokens: 3 });
      for (let i = 0; i < 10; i += 1) await client.getToken({ subjectToken: `user-${i}`, tool: 'https://t.example/', scope: 's' });
      expect(client.cachedTokens).toBe(3);
      await client.getToken({ subjectToken: 'user-9', tool: 'https://t.example/', scope: 's' });
      expect(s.tokenRequests).toHaveLength(10);
      await client.getToken({ subjectToken: 'user-0', tool: 'https://t.example/', scope: 's' });
      expect(s.tokenRequests).toHaveLength(11);
    } finally {
      await s.close();
    }
  });

  it('drops expired tokens', async () => {
    const s = await scriptedBroker([], 1);
    try {
      const client = await clientFor(s, { refreshSkewSeconds: 0 });
      for (let i = 0; i < 5; i += 1) await client.getToken({ subjectToken: `user-${i}`, tool: 'https://t.example/', scope: 's' });
      expect(client.cachedTokens).toBe(5);
      await new Promise((r) => setTimeout(r, 1100));
      await client.getToken({ subjectToken: 'another', tool: 'https://t.example/', scope: 's' });
      // Only the new one (itself valid for 1 s) is left; the five expired ones are gone from memory.
      expect(client.cachedTokens).toBe(1);
    } finally {
      await s.close();
    }
  });
});
