/**
 * Budgets at /token, over real HTTP, with two broker replicas sharing a real Redis: racing replicas never
 * overspend; each refusal is 400 access_denied, no token, one denial record naming the budget; the owner's
 * webhook gets an HMAC-signed notice and the agent is suspended when its file says so; only a person
 * raises or resets a budget (admin API); the `budget` claim carries what remains.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../../src/admin/admin-auth.js';
import type { AdminActionRecord } from '../../../src/admin/admin-record.js';
import type { ExchangeRecord } from '../../../src/attribution/record.js';
import type { Agent } from '../../../src/domain/agent.js';
import { SIGNATURE_HEADER } from '../../../src/guardrails/budgets/budget-notifier.js';
import { budgetOf } from '../../../src/sdk/validator/budget.js';
import { hashClientSecret } from '../../../src/provider/client-secret-hash.js';
import { RedisState } from '../../../src/state/redis-state.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../../support/broker-harness.js';
import { paymentDetail, sampleCatalog } from '../payments-tool.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../../support/redis.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../../support/upstream-idp.js';

const redisUp = await requireRedis('budgets across two replicas');
const SECRET = 'budget-test-agent-secret';
const CRM_RESOURCE = 'https://crm.example.internal/api';
const PAYMENTS = 'https://payments.example.internal/api';
const WEBHOOK_SECRET = 'budget-webhook-test-secret';
process.env.BUDGET_TEST_WEBHOOK_SECRET = WEBHOOK_SECRET;

interface Hook { body: string; signature: string | undefined }

describe.runIf(redisUp)('budgets at /token across two replicas sharing Redis', () => {
  const prefix = uniquePrefix();
  let idp: UpstreamIdp;
  let replicas: RunningTestBroker[];
  let states: RedisState[];
  let admin: { key: string; hash: string };
  let userToken: string;
  let hookServer: Server;
  const hooks: Hook[] = [];

  const agent = (clientId: string, budgets: Agent['budgets']): Agent => ({
    clientId, name: clientId, owner: 'owner@example.com', status: 'active',
    authentication: { method: 'client_secret_basic', secretHash: '' },
    tools: new Map([['crm', ['crm.accounts.read', 'crm.accounts.write']]]),
    maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test', ...(budgets ? { budgets } : {}),
  });

  beforeAll(async () => {
    admin = await createAdminKey('oncall');
    hookServer = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      req.on('end', () => {
        hooks.push({ body, signature: req.headers[SIGNATURE_HEADER] as string | undefined });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
    const webhook = `http://127.0.0.1:${String((hookServer.address() as AddressInfo).port)}/budget`;
    const secretHash = await hashClientSecret(SECRET);
    const agents: Agent[] = [
      { ...agent('racer', { tools: new Map([['crm', { exchangesPerHour: 5 }]]), onExceed: 'refuse' }), authentication: { method: 'client_secret_basic', secretHash } },
      { ...agent('spender', { overall: { exchangesPerHour: 1 }, tools: new Map(), onExceed: 'suspend', notify: { webhook, secretEnv: 'BUDGET_TEST_WEBHOOK_SECRET' } }), authentication: { method: 'client_secret_basic', secretHash } },
      { ...agent('raised', { overall: { exchangesPerDay: 1 }, tools: new Map(), onExceed: 'refuse' }), authentication: { method: 'client_secret_basic', secretHash } },
      {
        ...agent('payer', { tools: new Map([['payments', { amountMinorPerDay: new Map([['EUR', 100_000]]) }]]), onExceed: 'refuse' }),
        authentication: { method: 'client_secret_basic', secretHash }, tools: new Map([['payments', ['payments.read', 'payments.create']]]),
      },
    ];
    const catalog = await sampleCatalog();
    const first = await reserveBroker();
    const second = await reserveBroker({ issuer: first.issuer });
    idp = await startUpstreamIdp({ audience: first.issuer });
    states = [await RedisState.connect({ url: REDIS_URL, prefix }), await RedisState.connect({ url: REDIS_URL, prefix })];
    replicas = await Promise.all([first, second].map((r, i) => r.start({
      trustedIssuers: [trustedIssuer(idp.issuer, first.issuer)], catalog, agents,
      config: { adminKeys: [{ id: 'oncall', hash: admin.hash }] }, state: states[i]!,
    })));
    userToken = await idp.userToken('alice');
  }, 60_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    for (const s of states) await s.close();
    await idp.close();
    await new Promise<void>((r) => hookServer.close(() => { r(); }));
    await cleanupPrefix(prefix);
  });

  // Each replica listens on its own port; tokenEndpoint is where this replica itself listens.
  const exchange = (replica: RunningTestBroker, clientId: string): Promise<RawResponse> => rawPost(replica.tokenEndpoint, form({
    grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE, resource: CRM_RESOURCE, scope: 'crm.accounts.read',
  }), { authorization: basic(clientId, SECRET) });
  const pay = (replica: RunningTestBroker, amount: string): Promise<RawResponse> => rawPost(replica.tokenEndpoint, form({
    grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE, resource: PAYMENTS, scope: 'payments.create',
    authorization_details: JSON.stringify([paymentDetail({ payee: 'ACME', amount, currency: 'EUR' })]),
  }), { authorization: basic('payer', SECRET) });

  const exchangeRecords = (clientId: string): ExchangeRecord[] => replicas.flatMap((r) => r.sink.records)
    .filter((r): r is ExchangeRecord => r.type === 'token_exchange' && r.agent.client_id === clientId);
  const adminRecords = (action: string): AdminActionRecord[] => replicas.flatMap((r) => r.sink.records)
    .filter((r): r is AdminActionRecord => r.type === 'admin_action' && r.action === action);

  it('two replicas racing never spend past the budget; every refusal is exact, tokenless and recorded once', async () => {
    const responses = await Promise.all(Array.from({ length: 16 }, (_, i) => exchange(replicas[i % 2]!, 'racer')));
    const granted = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status !== 200);
    expect(granted).toHaveLength(5);
    for (const r of refused) {
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('access_denied');
      expect(r.body).not.toHaveProperty('access_token');
      expect(r.headers.get('cache-control')).toBe('no-store');
    }
    // The remaining budget travels in each token: 4, 3, 2, 1, 0 in some order.
    const remaining = granted.map((r) => budgetOf({ claims: decodeJwt(String(r.body.access_token)) })?.exchanges).sort();
    expect(remaining).toEqual([0, 1, 2, 3, 4]);
    const records = exchangeRecords('racer');
    expect(records).toHaveLength(16);
    const denials = records.filter((r) => r.decision === 'denied');
    expect(denials).toHaveLength(11);
    for (const d of denials) {
      expect(d.reason).toBe('budget_exceeded');
      expect(d.error).toBe('access_denied');
      expect(d.token).toBeUndefined();
      expect(d.budget).toMatchObject({ name: 'racer/crm', metric: 'exchanges_per_hour', limit: 5, used: 5, requested: 1 });
    }
    // Near the budget (80 %: the 4th of 5), exactly one warning across both replicas.
    const warnings = adminRecords('budget.warning').filter((r) => r.target.value === 'racer/crm:exchanges_per_hour');
    expect(warnings).toHaveLength(1);
  });

  it('declared amounts: racing payments never sum past the daily amount budget, per currency', async () => {
    // 8 payments of 300.00 EUR against 1,000.00 EUR a day: at most 3 (900.00), none above the approval threshold.
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => pay(replicas[i % 2]!, '300.00')));
    const granted = responses.filter((r) => r.status === 200);
    expect(granted).toHaveLength(3);
    for (const r of responses.filter((x) => x.status !== 200)) {
      expect(r).toMatchObject({ status: 400, body: { error: 'access_denied' } });
      expect(r.body).not.toHaveProperty('access_token');
    }
    // As a tool reads it, through the validation SDK.
    const left = granted.map((r) => budgetOf({ claims: decodeJwt(String(r.body.access_token)) })?.amounts?.EUR ?? -1).sort((a, b) => a - b);
    expect(left).toEqual([10_000, 40_000, 70_000]);
    const denials = exchangeRecords('payer').filter((r) => r.decision === 'denied');
    expect(denials).toHaveLength(5);
    for (const d of denials) expect(d.budget).toMatchObject({ name: 'payer/payments', metric: 'amount_per_day:EUR', limit: 100_000, used: 90_000, requested: 30_000 });
    // A smaller payment still fits what is left; a currency the budget does not list has no room at all.
    expect((await pay(replicas[0]!, '100.00')).status).toBe(200);
    const usd = await rawPost(replicas[1]!.tokenEndpoint, form({
      grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE, resource: PAYMENTS, scope: 'payments.create',
      authorization_details: JSON.stringify([paymentDetail({ payee: 'ACME', amount: '1.00', currency: 'USD' })]),
    }), { authorization: basic('payer', SECRET) });
    expect(usd).toMatchObject({ status: 400, body: { error: 'access_denied' } });
  });

  it('over budget: the owner gets an HMAC-signed webhook and the agent is suspended (a person reinstates it)', async () => {
    expect((await exchange(replicas[0]!, 'spender')).status).toBe(200);
    const over = await exchange(replicas[1]!, 'spender');
    expect(over.status).toBe(400);
    expect(over.body.error).toBe('access_denied');
    await expect.poll(() => hooks.filter((h) => h.body.includes('"budget.exceeded"')).length, { timeout: 5000 }).toBe(1);
    const hook = hooks.find((h) => h.body.includes('"budget.exceeded"'))!;
    const [t, v1] = (hook.signature ?? '').split(',').map((p) => p.split('=')[1]);
    expect(v1).toBe(createHmac('sha256', WEBHOOK_SECRET).update(`${String(t)}.${hook.body}`).digest('hex'));
    expect(JSON.parse(hook.body)).toMatchObject({ type: 'budget.exceeded', agent: 'spender', owner: 'owner@example.com', budget: 'spender', metric: 'exchanges_per_hour', limit: 1, suspended: true });
    // The warning at 80 % of a limit of 1 is the first exchange itself.
    expect(hooks.some((h) => h.body.includes('"budget.warning"') && h.body.includes('"spender"'))).toBe(true);
    expect(adminRecords('agent.suspend').some((r) => r.target.value === 'spender' && r.by === 'budget:spender')).toBe(true);
    // Every replica refuses it as suspended within the propagation window.
    // (Both answers are 400 since the status policy: the error code tells the suspension from the budget.)
    await expect.poll(async () => (await exchange(replicas[0]!, 'spender')).body.error, { timeout: 5000, interval: 100 }).toBe('unauthorized_client');
    const after = await exchange(replicas[1]!, 'spender');
    expect(after.status).toBe(400);
    expect(after.body.error).toBe('unauthorized_client');
    expect(after.body).not.toHaveProperty('access_token');
  });

  const adminCall = async (replica: RunningTestBroker, method: string, path: string, body?: unknown): Promise<RawResponse> => {
    const url = replica.tokenEndpoint.replace(/\/token$/u, path);
    const res = await fetch(url, { method, headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, unknown>, text };
  };

  it('only a person raises or resets a budget: attributed, and seen by both replicas at once', async () => {
    expect((await exchange(replicas[0]!, 'raised')).status).toBe(200);
    expect((await exchange(replicas[1]!, 'raised')).status).toBe(400);
    const noReason = await adminCall(replicas[0]!, 'POST', '/admin/budgets/raised/raise', { metric: 'exchanges_per_day', by: 1 });
    expect(noReason.status).toBe(400);
    const raised = await adminCall(replicas[0]!, 'POST', '/admin/budgets/raised/raise', { metric: 'exchanges_per_day', by: 1, reason: 'month-end run' });
    expect(raised.status).toBe(200);
    expect(raised.body).toMatchObject({ budget: 'raised', metric: 'exchanges_per_day', limit: 2 });
    expect((await exchange(replicas[1]!, 'raised')).status).toBe(200);
    expect((await exchange(replicas[0]!, 'raised')).status).toBe(400);
    const reset = await adminCall(replicas[1]!, 'POST', '/admin/budgets/raised/reset', { metric: 'exchanges_per_day', reason: 'new batch approved' });
    expect(reset.status).toBe(200);
    const view = await adminCall(replicas[0]!, 'GET', '/admin/budgets/raised');
    expect(view.body.budgets).toEqual([expect.objectContaining({ budget: 'raised', metric: 'exchanges_per_day', used: 0, limit: 2, remaining: 2 })]);
    expect((await exchange(replicas[0]!, 'raised')).status).toBe(200);
    expect(adminRecords('budget.raise').map((r) => [r.by, r.target.value])).toEqual([['oncall', 'raised:exchanges_per_day']]);
    expect(adminRecords('budget.reset')).toHaveLength(1);
    const unknown = await adminCall(replicas[0]!, 'POST', '/admin/budgets/raised/raise', { metric: 'exchanges_per_hour', by: 1, reason: 'x' });
    expect(unknown.status).toBe(404);
    const anonymous = await fetch(replicas[0]!.tokenEndpoint.replace(/\/token$/u, '/admin/budgets/raised'));
    expect(anonymous.status).toBe(401);
  });
});
