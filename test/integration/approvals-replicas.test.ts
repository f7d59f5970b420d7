/**
 * Issue 18, approvals across two broker replicas sharing one real Redis: an agent asks for a payment above
 * the catalog's threshold and gets no token but an approval id; a finance approver decides at one replica;
 * the agent's poll at the other replica gets the single-use token, which the tool's validation SDK accepts
 * once (shared replay store) and only for the exact arguments. Rejected -> access_denied, lapsed ->
 * expired_token, each with no token and one denial record. Real parts only: oidc-provider as the user's
 * identity provider, real HTTP, real Redis, a real webhook receiver checking the HMAC.
 */
import type { Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import type { AttributionRecord } from '../../src/attribution/record.js';
import { buildCatalog } from '../../src/config/load-catalog.js';
import { signWebhook } from '../../src/guardrails/approvals/webhook.js';
import { ActionGuard, redisReplayStore, TokenValidator } from '../../src/sdk/validator/index.js';
import { RedisState } from '../../src/state/redis-state.js';
import { close, listen } from '../../src/server/listen.js';
import { secretAgent } from '../support/attack-bed.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { paymentDetail, type PaymentCall } from '../guardrails/payments-tool.js';

const redisUp = await requireRedis('approvals across two broker replicas');
const SECRET = 'approvals-agent-secret';
const WEBHOOK_SECRET = 'approvals-webhook-secret-0123456789abcdef';
const PAYMENTS = 'https://payments.example.internal/api';
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

interface Hook { readonly body: string; readonly timestamp: string; readonly signature: string }

let idp: UpstreamIdp;
let a: RunningTestBroker;
let b: RunningTestBroker;
let urlA: string;
let urlB: string;
let states: RedisState[] = [];
let redis: Redis;
let hookServer: Server;
const hooks: Hook[] = [];
let financeKey: string;
let oncallKey: string;
let skewMs = 0;
const prefix = uniquePrefix();
const now = () => Date.now() + skewMs;

beforeAll(async () => {
  if (!redisUp) return;
  const listening = await listen((req, res) => new Promise<void>((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooks.push({ body: Buffer.concat(chunks).toString('utf8'), timestamp: String(req.headers['x-broker-timestamp']), signature: String(req.headers['x-broker-signature']) });
      res.writeHead(200).end('ok');
      resolve();
    });
  }), '127.0.0.1', 0);
  hookServer = listening.server;
  const hookPort = listening.port;
  // The sample payments tool, with notifications to the receiver above.
  const data = parseYaml(await readFile(path.join(REPO_ROOT, 'scopes/payments.yaml'), 'utf8')) as { approval: Record<string, unknown> };
  data.approval.notify_url = `http://127.0.0.1:${String(hookPort)}/hook`;
  const catalog = buildCatalog([{ source: 'scopes/payments.yaml', data }]);

  const finance = await createAdminKey('dev-admin');
  const oncall = await createAdminKey('oncall');
  financeKey = finance.key;
  oncallKey = oncall.key;
  const reservedA = await reserveBroker();
  const reservedB = await reserveBroker({ issuer: reservedA.issuer });
  urlA = reservedA.url;
  urlB = reservedB.url;
  idp = await startUpstreamIdp({ audience: reservedA.issuer, tokenTtlSeconds: 3600 });
  states = [await RedisState.connect({ url: REDIS_URL, prefix }), await RedisState.connect({ url: REDIS_URL, prefix })];
  const agent = await secretAgent('pay-agent', SECRET, { payments: ['payments.read', 'payments.create'] });
  const common = {
    trustedIssuers: [trustedIssuer(idp.issuer, reservedA.issuer)], catalog, agents: [agent], now,
    config: { adminKeys: [{ id: 'dev-admin', hash: finance.hash }, { id: 'oncall', hash: oncall.hash }] },
    approvals: { webhookSecret: WEBHOOK_SECRET },
  };
  a = await reservedA.start({ ...common, state: states[0] });
  b = await reservedB.start({ ...common, state: states[1], keys: a.keys });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
}, 60_000);

afterAll(async () => {
  if (!redisUp) return;
  await Promise.all([a.close(), b.close()]);
  await Promise.all(states.map((s) => s.close()));
  await close(hookServer);
  await idp.close();
  redis.disconnect();
  await cleanupPrefix(prefix);
});

const base = (replica: 'A' | 'B') => (replica === 'A' ? urlA : urlB);
const sinkOf = (replica: 'A' | 'B') => (replica === 'A' ? a : b).sink;

async function exchange(replica: 'A' | 'B', call: PaymentCall | undefined, extra: Record<string, string> = {}): Promise<RawResponse> {
  return rawPost(`${base(replica)}/token`, form({
    grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE,
    resource: PAYMENTS, scope: 'payments.create',
    ...(call ? { authorization_details: JSON.stringify([paymentDetail(call)]) } : {}),
    ...extra,
  }), { authorization: basic('pay-agent', SECRET) });
}

function exchangeRecords(replica: 'A' | 'B', response: RawResponse): AttributionRecord[] {
  const requestId = response.headers.get('x-request-id');
  return sinkOf(replica).records.filter((r) => r.type === 'token_exchange' && r.request_id === requestId);
}

/** The exact error, no token, and exactly one denial record with this reason. */
function expectRefused(replica: 'A' | 'B', response: RawResponse, error: string, reason: string): void {
  expect(response.status).toBe(400);
  expect(response.body.error).toBe(error);
  expect(response.body).not.toHaveProperty('access_token');
  expect(response.headers.get('cache-control')).toBe('no-store');
  const records = exchangeRecords(replica, response);
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({ decision: 'denied', reason, error });
  expect(records[0]).not.toHaveProperty('token');
}

async function adminCall(replica: 'A' | 'B', key: string, method: string, pathname: string, body?: unknown) {
  const res = await fetch(`${base(replica)}${pathname}`, {
    method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const approvalRecords = (id: string) => [...a.sink.records, ...b.sink.records].filter((r) => r.type === 'approval' && r.approval_id === id);

describe.runIf(redisUp)('approvals across two broker replicas (Redis)', () => {
  it('below the threshold: a token at once, carrying the action, not gated', async () => {
    const response = await exchange('A', { payee: 'ACME', amount: '999.99', currency: 'EUR' });
    expect(response.status).toBe(200);
    const claims = JSON.parse(Buffer.from(String(response.body.access_token).split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    expect(claims).not.toHaveProperty('approval_id');
    expect(claims.authorization_details).toEqual([expect.objectContaining({ amount: '999.99', type: 'payment', locations: [PAYMENTS] })]);
  });

  it('payments.create without authorization_details: invalid_authorization_details, no token, one record', async () => {
    expectRefused('B', await exchange('B', undefined), 'invalid_authorization_details', 'authorization_details_required');
  });

  it('approved at one replica, minted once at the other, used once at the tool', async () => {
    const call = { payee: 'ACME GmbH', amount: '1500.00', currency: 'EUR' };
    const asked = await exchange('A', call);
    expectRefused('A', asked, 'authorization_pending', 'approval_pending');
    expect(asked.body).toMatchObject({ interval: 5, expires_in: 600 });
    const id = String(asked.body.approval_id);
    expect(id).toMatch(/^apr_/u);

    // The signed, Slack-compatible notification.
    await a.approvals.gate.settled();
    const hook = hooks.find((h) => h.body.includes(id));
    expect(hook).toBeDefined();
    expect(hook!.signature).toBe(signWebhook(WEBHOOK_SECRET, hook!.body, Number(hook!.timestamp)));
    const payload = JSON.parse(hook!.body) as { text: string; blocks: unknown[]; approval: Record<string, unknown> };
    expect(payload.text).toContain('pay-agent');
    expect(payload.text).toContain('alice');
    expect(payload.text).toContain('amount=1500.00');
    expect(payload.approval).toMatchObject({ id, agent: 'pay-agent', tool: 'payments', user: { sub: 'alice' } });

    // Polled at once at the other replica: slow_down, and the interval grows by 5 s.
    const early = await exchange('B', call, { approval_id: id });
    expectRefused('B', early, 'slow_down', 'approval_slow_down');
    expect(early.body.interval).toBe(10);

    // An admin key without an approver role for payments cannot decide.
    expect(await adminCall('B', oncallKey, 'POST', `/admin/approvals/${id}/approve`, {})).toMatchObject({ status: 403, body: { error: 'insufficient_scope' } });
    const shown = await adminCall('B', financeKey, 'GET', `/admin/approvals/${id}`);
    expect(shown.body.approval).toMatchObject({ status: 'pending', agent: 'pay-agent', user: { sub: 'alice' }, tool: 'payments', why: ['1500.00 EUR is above 1000.00 EUR'] });
    const decided = await adminCall('B', financeKey, 'POST', `/admin/approvals/${id}/approve`, { reason: 'invoice 42' });
    expect(decided).toMatchObject({ status: 200, body: { approval: { status: 'approved', decision: { by: 'dev-admin', as: 'role:finance' } } } });

    skewMs += 11_000;
    const minted = await exchange('A', call, { approval_id: id });
    expect(minted.status).toBe(200);
    const token = String(minted.body.access_token);
    expect(Number(minted.body.expires_in)).toBeLessThanOrEqual(60);
    const mintRecords = exchangeRecords('A', minted);
    expect(mintRecords).toHaveLength(1);
    expect(mintRecords[0]).toMatchObject({ decision: 'granted', token: { lifetime_bound_by: 'approval_single_use' } });

    // The approval's one token has been issued: a second poll gets nothing.
    expectRefused('B', await exchange('B', call, { approval_id: id }), 'invalid_grant', 'approval_used');

    expect(approvalRecords(id).map((r) => (r.type === 'approval' ? r.event : '')).sort()).toEqual(['approved', 'decision_refused', 'minted', 'notified', 'requested']);
    for (const record of approvalRecords(id)) expect(JSON.stringify(record)).not.toContain(token);

    // At the tool: the exact arguments, once, whichever replica of the tool sees it.
    // The brokers' clock runs 11 s ahead here (to pass the polling interval without waiting): within the tolerance.
    const validator = await TokenValidator.create({ issuer: a.issuer, resource: PAYMENTS, revocation: false, clockToleranceSeconds: 15 });
    try {
      const validated = await validator.validate(`Bearer ${token}`);
      expect(validated.claims.approval_id).toBe(id);
      const store = redisReplayStore(redis, { prefix: `${prefix}tool:` });
      const [toolA, toolB] = [new ActionGuard({ replayStore: store }), new ActionGuard({ replayStore: store })];
      await expect(toolA.check(validated, { action: 'create_payment', arguments: { ...call, amount: '15000.00' } }))
        .rejects.toMatchObject({ status: 403, code: 'insufficient_scope' });
      await expect(toolA.check(validated, { action: 'create_payment', arguments: call })).resolves.toMatchObject({ approvalId: id, action: 'create_payment' });
      await expect(toolB.check(validated, { action: 'create_payment', arguments: call }))
        .rejects.toMatchObject({ status: 401, code: 'invalid_token', description: 'this single-use token has already been used' });
    } finally {
      validator.close();
    }
  });

  it('rejected through the signed link: access_denied, no token, one record; the link works once', async () => {
    const call = { payee: 'Bob', amount: '2000.00', currency: 'EUR' };
    const asked = await exchange('B', call);
    const id = String(asked.body.approval_id);
    await b.approvals.gate.settled();
    const payload = JSON.parse(hooks.find((h) => h.body.includes(id))!.body) as { blocks: { type: string; elements?: { url?: string; action_id?: string }[] }[] };
    const reject = payload.blocks.find((block) => block.type === 'actions')!.elements!.find((e) => e.action_id === 'reject')!.url!;
    const token = new URL(reject).searchParams.get('token')!;
    // Opening the link (a chat preview does) decides nothing.
    const preview = await fetch(`${urlA}/approvals/decide?token=${encodeURIComponent(token)}`);
    expect(preview.status).toBe(200);
    expect(await preview.text()).toContain('Reject this action?');
    expect((await adminCall('A', financeKey, 'GET', `/admin/approvals/${id}`)).body.approval).toMatchObject({ status: 'pending' });
    const confirm = () => fetch(`${urlA}/approvals/decide`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ token }) });
    expect((await confirm()).status).toBe(200);
    expect((await confirm()).status).toBe(409);

    skewMs += 11_000;
    expectRefused('A', await exchange('A', call, { approval_id: id }), 'access_denied', 'approval_rejected');
    expect(approvalRecords(id).filter((r) => r.type === 'approval' && r.event === 'rejected')).toEqual([expect.objectContaining({ by: 'link', via: 'link', as: 'user|role:finance' })]);
  });

  it('nobody decides within the lapse: expired_token, no token, one record', async () => {
    const call = { payee: 'Carol', amount: '3000.00', currency: 'EUR' };
    const asked = await exchange('A', call);
    const id = String(asked.body.approval_id);
    skewMs += 601_000;
    expectRefused('B', await exchange('B', call, { approval_id: id }), 'expired_token', 'approval_expired');
    // An approval given after the lapse does not count.
    expect(await adminCall('A', financeKey, 'POST', `/admin/approvals/${id}/approve`, {})).toMatchObject({ status: 409, body: { error: 'expired_token' } });
  });

  it('an approval binds the exact action: another amount with the same approval id is invalid_grant', async () => {
    const asked = await exchange('A', { payee: 'Dave', amount: '1200.00', currency: 'EUR' });
    const id = String(asked.body.approval_id);
    await adminCall('A', financeKey, 'POST', `/admin/approvals/${id}/approve`, {});
    skewMs += 11_000;
    expectRefused('B', await exchange('B', { payee: 'Dave', amount: '12000.00', currency: 'EUR' }, { approval_id: id }), 'invalid_grant', 'approval_mismatch');
    expectRefused('B', await exchange('B', { payee: 'Dave', amount: '1200.00', currency: 'EUR' }, { approval_id: 'apr_AAAAAAAAAAAAAAAAAAAAAAAA' }), 'invalid_grant', 'approval_unknown');
  });

  it('the share of gated exchanges per tool is visible in the admin API', async () => {
    const stats = await adminCall('B', oncallKey, 'GET', '/admin/approvals/stats');
    expect(stats.status).toBe(200);
    const payments = (stats.body.tools as Record<string, { exchanges: number; gated: number; gated_share: number }>).payments!;
    expect(payments.exchanges).toBe(5);
    expect(payments.gated).toBe(4);
    expect(payments.gated_share).toBe(0.8);
  });
});
