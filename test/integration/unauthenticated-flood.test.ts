/**
 * Anyone can reach /token, but nobody can fill or stall the attribution log (issue 14 item 5): requests are
 * limited per source address before client authentication, and unauthenticated denials become one aggregate
 * record per address per interval. The flood comes from 127.0.0.2, the legitimate agent from 127.0.0.1.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isExchangeRecord, type AggregateDenialRecord } from '../../src/attribution/record.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { secretAgent } from '../support/attack-bed.js';
import { AT_TYPE, basic, form, TE_GRANT } from '../support/token-request.js';

const SECRET = 'flood-test-agent-secret';
const PER_SOURCE = 20;
let idp: UpstreamIdp;
let broker: RunningTestBroker;
let userToken: string;

beforeAll(async () => {
  const reserved = await reserveBroker();
  idp = await startUpstreamIdp({ audience: reserved.issuer });
  const agent = await secretAgent('crm-agent', SECRET, { crm: ['crm.accounts.read'] });
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)],
    catalog: testCatalog(),
    agents: [agent],
    config: {
      rateLimits: { perSource: { limit: PER_SOURCE, windowMs: 60_000 } },
      attribution: { file: 'unused', unauthenticatedIntervalMs: 1000 },
    },
  });
  userToken = await idp.userToken('alice');
});
afterAll(async () => {
  await broker.close();
  await idp.close();
});

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: Record<string, unknown> }

/** A token request sent from `localAddress` (any 127/8 address reaches the loopback listener). */
function post(localAddress: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const url = new URL(broker.tokenEndpoint);
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress, agent: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)), ...headers },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? {} : JSON.parse(text) as Record<string, unknown> });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const exchangeBody = (scope = 'crm.accounts.read') => form({ grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE, resource: CRM, scope });

describe('a flood from one source', () => {
  it('gets 429 once over the per-source limit, the agent at another source is granted, and the log holds one aggregate record with the exact counts', async () => {
    const flood: Answer[] = [];
    const legit: Answer[] = [];
    for (let i = 0; i < 100; i += 1) {
      // 10 wrong secrets for a real agent, 10 without credentials, then 80 more of the latter (over the limit).
      const headers: Record<string, string> = i < 10 ? { authorization: basic('crm-agent', `wrong-${String(i)}`) } : {};
      flood.push(await post('127.0.0.2', exchangeBody(), headers));
      if (i % 20 === 0) legit.push(await post('127.0.0.1', exchangeBody(), { authorization: basic('crm-agent', SECRET) }));
    }
    const deniedAuthenticated = await post('127.0.0.1', exchangeBody('crm.accounts.delete'), { authorization: basic('crm-agent', SECRET) });

    expect(flood.slice(0, 20).map((a) => [a.status, a.body.error])).toEqual(Array(20).fill([401, 'invalid_client']));
    for (const limited of flood.slice(20)) {
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual({ error: 'temporarily_unavailable', error_description: 'too many requests from this address; slow down' });
      expect(limited.headers['retry-after']).toBe('1');
      expect(limited.headers['cache-control']).toBe('no-store');
    }
    for (const a of flood) expect(a.body.access_token).toBeUndefined();
    expect(legit.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    for (const a of legit) expect(typeof a.body.access_token).toBe('string');
    expect(deniedAuthenticated.status).toBe(400);
    expect(deniedAuthenticated.body.access_token).toBeUndefined();

    // Authenticated decisions: one record each, at once. Unauthenticated ones: none of their own.
    const exchanges = broker.sink.records.filter(isExchangeRecord);
    expect(exchanges.filter((r) => r.caller.address === '127.0.0.2')).toEqual([]);
    expect(exchanges.map((r) => [r.caller.address, r.decision, r.reason])).toEqual([
      ...Array.from({ length: 5 }, () => ['127.0.0.1', 'granted', 'granted']),
      ['127.0.0.1', 'denied', 'scope_empty_after_narrowing'],
    ]);

    // One aggregate record per interval for the flooding address (the flood may span intervals), every request
    // counted with its reason: the counts add up exactly.
    const aggregates = () => broker.sink.records.filter((r): r is AggregateDenialRecord => r.type === 'token_exchange_aggregate');
    const total = (field: (r: AggregateDenialRecord) => number | undefined) => aggregates().reduce((n, r) => n + (field(r) ?? 0), 0);
    await expect.poll(() => total((r) => r.aggregate.count), { timeout: 5000 }).toBe(100);
    for (const r of aggregates()) {
      expect(r).toMatchObject({ decision: 'denied', caller: { address: '127.0.0.2' }, agent: { authenticated: false, client_id: null } });
      expect(Date.parse(r.aggregate.first)).toBeLessThanOrEqual(Date.parse(r.aggregate.last));
    }
    expect(new Set(aggregates().map((r) => r.time)).size).toBe(aggregates().length); // one per address per interval
    expect(aggregates().length).toBeLessThan(10); // instead of 100 synced lines
    expect(total((r) => r.aggregate.reasons.client_authentication_failed)).toBe(10);
    expect(total((r) => r.aggregate.reasons.client_authentication_missing)).toBe(10);
    expect(total((r) => r.aggregate.reasons.source_rate_limited)).toBe(80);
    expect(total((r) => r.aggregate.clients?.['crm-agent'])).toBe(10);
  });
});
