/**
 * POST /token answered from node:http (src/token-endpoint/fast-path.ts): two real brokers, one with the fast
 * path and one answering through the Koa app, get the same requests; every answer (granted and refused) must
 * carry the same status, the same headers in the same order and the same body, and be recorded the same way.
 * A count of Koa contexts shows which requests the app handled.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/domain/agent.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { headerPairs, rawHttp, type RawAnswer } from '../support/raw-http.js';
import { AT_TYPE, basic, form, TE_GRANT } from '../support/token-request.js';

const AUDIENCE = 'https://broker.fast-path.test';
const SECRET = 'fast-path-agent-secret';

type Answer = RawAnswer;
interface Started { broker: RunningTestBroker; contexts: () => number }

let idp: TestIssuer;
let fast: Started;
let koa: Started;
let userToken: string;

async function start(tokenFastPath: boolean): Promise<Started> {
  const reserved = await reserveBroker();
  const agent: Agent = {
    clientId: 'fast-agent', name: 'Fast agent', owner: 'ops@example.com', status: 'active',
    authentication: { method: 'client_secret_basic', secretHash: await hashClientSecret(SECRET) },
    tools: new Map([['crm', ['crm.accounts.read']]]), maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test',
  };
  const broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, AUDIENCE, { algorithms: ['ES256'] })], catalog: testCatalog(), agents: [agent], tokenFastPath,
    config: { rateLimits: { perAgentTool: { limit: 3, windowMs: 60_000 } } },
  });
  // Koa builds one context per request it handles; counted on the instance (looked up per request).
  const app = broker.broker.app as unknown as { createContext: (...args: unknown[]) => unknown };
  const create = app.createContext.bind(app);
  let contexts = 0;
  app.createContext = (...args: unknown[]) => { contexts += 1; return create(...args); };
  return { broker, contexts: () => contexts };
}

function post(b: RunningTestBroker, body: string, headers: Record<string, string>, path = '/token', method = 'POST'): Promise<Answer> {
  return rawHttp(b.tokenEndpoint, { body, headers, path, method });
}

const FORM = 'application/x-www-form-urlencoded';
const exchange = () => form({ grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read' });

beforeAll(async () => {
  idp = await startTestIssuer();
  const now = Math.floor(Date.now() / 1000);
  userToken = await idp.sign({ iss: idp.issuer, sub: 'alice', aud: AUDIENCE, scope: 'crm.read', iat: now, exp: now + 600, jti: randomUUID() });
  [fast, koa] = await Promise.all([start(true), start(false)]);
});
afterAll(async () => { await Promise.all([fast.broker.close(), koa.broker.close()]); await idp.close(); });

describe('POST /token answered in front of the Koa app', () => {
  it('answers every case exactly as the Koa path does, records it the same way, and never builds a Koa context', async () => {
    const cases: [string, string, Record<string, string>][] = [
      ['granted', exchange(), { 'content-type': FORM, authorization: basic('fast-agent', SECRET) }],
      ['wrong secret (401 with a Basic challenge)', exchange(), { 'content-type': FORM, authorization: basic('fast-agent', 'wrong') }],
      ['no grant_type', form({ subject_token: userToken }), { 'content-type': FORM, authorization: basic('fast-agent', SECRET) }],
      ['JSON body', '{}', { 'content-type': 'application/json', authorization: basic('fast-agent', SECRET) }],
      ['granted', exchange(), { 'content-type': FORM, authorization: basic('fast-agent', SECRET) }],
      ['granted', exchange(), { 'content-type': FORM, authorization: basic('fast-agent', SECRET) }],
      ['rate limited (429, Retry-After)', exchange(), { 'content-type': FORM, authorization: basic('fast-agent', SECRET) }],
    ];
    for (const [i, [what, body, headers]] of cases.entries()) {
      const requestId = `req-${String(i)}`;
      const [f, k] = [await post(fast.broker, body, { ...headers, 'x-request-id': requestId }), await post(koa.broker, body, { ...headers, 'x-request-id': requestId })];
      expect(f.status, what).toBe(k.status);
      // A token's length depends on its issuer URL (each broker has its own port): compared in the body below.
      // The `Basic` challenge's realm is each broker's own issuer.
      const comparable = (a: Answer, issuer: string) => headerPairs(a).map(([n, v]) => [n, n === 'Content-Length' && a.status === 200 ? 'n' : v?.replace(issuer, 'ISSUER')]);
      expect(comparable(f, fast.broker.issuer), what).toEqual(comparable(k, koa.broker.issuer));
      if (f.status === 200) {
        const [fb, kb] = [JSON.parse(f.body) as Record<string, unknown>, JSON.parse(k.body) as Record<string, unknown>];
        expect(Object.keys(fb)).toEqual(Object.keys(kb));
        expect({ ...fb, access_token: 'x' }).toEqual({ ...kb, access_token: 'x' });
      } else {
        expect(f.body, what).toBe(k.body);
      }
      const [fr, kr] = [fast.broker.sink.records.at(-1), koa.broker.sink.records.at(-1)];
      expect(fr && { ...fr, id: '', time: '', token: undefined }).toEqual(kr && { ...kr, id: '', time: '', token: undefined });
      expect(fr).toMatchObject({ request_id: requestId });
    }
    expect(headerPairs(await post(fast.broker, exchange(), { 'content-type': FORM }))).toContainEqual(['WWW-Authenticate', 'Basic realm="token"']);
    // The fast broker never built a Koa context for these; the other built one per request.
    expect(fast.contexts()).toBe(0);
    expect(koa.contexts()).toBe(cases.length);
  });

  it('leaves any other method, a URL query and every other route to the app', async () => {
    const before = fast.contexts();
    const query = await post(fast.broker, exchange(), { 'content-type': FORM, authorization: basic('fast-agent', SECRET) }, '/token?x=1');
    expect(query.status).toBe(400);
    expect(JSON.parse(query.body)).toMatchObject({ error: 'invalid_request' });
    const [getFast, getKoa] = [await post(fast.broker, '', {}, '/token', 'GET'), await post(koa.broker, '', {}, '/token', 'GET')];
    expect(getFast.status).toBe(400);
    expect(getFast.body).toBe(getKoa.body);
    expect((await post(fast.broker, '', {}, '/healthz', 'GET')).status).toBe(200);
    expect(fast.contexts()).toBe(before + 3);
  });
});
