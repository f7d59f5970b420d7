/**
 * Issue 18: the tool's side of the attribution chain, across two broker replicas sharing one real Redis.
 * Approved at replica A, minted at replica B, used once at the tool (the validation SDK's ActionGuard, two
 * tool replicas sharing a Redis replay store): the guard reports the use, the broker writes one `used`
 * record linked to the approval id and the token's jti; the second use is refused by the SDK and reported
 * as `replayed`. Reports are idempotent per use id, authenticated with a validator key, and only about the
 * approval's own token. A tool whose replicas do NOT share a replay store is caught by the broker (409).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../../src/admin/admin-auth.js';
import type { AttributionRecord } from '../../../src/attribution/record.js';
import type { ApprovalRecord } from '../../../src/guardrails/approvals/approval-record.js';
import { ActionGuard, brokerUseReporter, redisReplayStore, TokenValidator, type ValidatedToken } from '../../../src/sdk/validator/index.js';
import { RedisState } from '../../../src/state/redis-state.js';
import { secretAgent } from '../../support/attack-bed.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../../support/broker-harness.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../../support/redis.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../../support/upstream-idp.js';
import { paymentDetail, sampleCatalog, type PaymentCall } from '../payments-tool.js';

const redisUp = await requireRedis('approval use reports across two broker replicas');
const SECRET = 'approval-used-agent-secret';
const PAYMENTS = 'https://payments.example.internal/api';
const prefix = uniquePrefix();

let idp: UpstreamIdp;
let a: RunningTestBroker;
let b: RunningTestBroker;
let urls: { A: string; B: string };
let states: RedisState[] = [];
let redis: Redis;
let financeKey: string;
let toolKey: string;
let otherToolKey: string;
let validator: TokenValidator;

beforeAll(async () => {
  if (!redisUp) return;
  const [finance, tool, other] = await Promise.all([createAdminKey('dev-admin'), createAdminKey('payments-service'), createAdminKey('crm-service')]);
  financeKey = finance.key;
  toolKey = tool.key;
  otherToolKey = other.key;
  const reservedA = await reserveBroker();
  const reservedB = await reserveBroker({ issuer: reservedA.issuer });
  urls = { A: reservedA.url, B: reservedB.url };
  idp = await startUpstreamIdp({ audience: reservedA.issuer, tokenTtlSeconds: 3600 });
  states = [await RedisState.connect({ url: REDIS_URL, prefix }), await RedisState.connect({ url: REDIS_URL, prefix })];
  const common = {
    trustedIssuers: [trustedIssuer(idp.issuer, reservedA.issuer)], catalog: await sampleCatalog(),
    agents: [await secretAgent('pay-agent', SECRET, { payments: ['payments.create'] })],
    config: {
      adminKeys: [{ id: 'dev-admin', hash: finance.hash }],
      validatorKeys: [{ id: 'payments-service', hash: tool.hash, resources: [PAYMENTS] }, { id: 'crm-service', hash: other.hash, resources: ['https://crm.example.internal/api'] }],
    },
    approvals: { pollIntervalSeconds: 1 },
  };
  a = await reservedA.start({ ...common, state: states[0] });
  b = await reservedB.start({ ...common, state: states[1], keys: a.keys });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  validator = await TokenValidator.create({ issuer: a.issuer, resource: PAYMENTS, revocation: false });
}, 60_000);

afterAll(async () => {
  if (!redisUp) return;
  validator.close();
  await Promise.all([a.close(), b.close()]);
  await Promise.all(states.map((s) => s.close()));
  await idp.close();
  redis.disconnect();
  await cleanupPrefix(prefix);
});

async function exchange(replica: 'A' | 'B', call: PaymentCall, extra: Record<string, string> = {}): Promise<RawResponse> {
  return rawPost(`${urls[replica]}/token`, form({
    grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE,
    resource: PAYMENTS, scope: 'payments.create', authorization_details: JSON.stringify([paymentDetail(call)]), ...extra,
  }), { authorization: basic('pay-agent', SECRET) });
}

/** Asked and approved at A, minted at B: the single-use token and its approval id. */
async function approvedToken(call: PaymentCall): Promise<{ id: string; token: string; validated: ValidatedToken }> {
  const asked = await exchange('A', call);
  expect(asked.body.error).toBe('authorization_pending');
  const id = String(asked.body.approval_id);
  const decided = await fetch(`${urls.A}/admin/approvals/${id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${financeKey}` } });
  expect(decided.status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 1100)); // the polling interval (1 s here)
  const minted = await exchange('B', call, { approval_id: id });
  expect(minted.status).toBe(200);
  const token = String(minted.body.access_token);
  // RFC 9396 §7: the token response carries the authorization_details the token does.
  expect(minted.body.authorization_details).toEqual(claimsOf(token).authorization_details);
  return { id, token, validated: await validator.validate(`Bearer ${token}`) };
}

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

const approvalRecords = (id: string): ApprovalRecord[] => [...a.sink.records, ...b.sink.records]
  .filter((r: AttributionRecord): r is ApprovalRecord => r.type === 'approval' && r.approval_id === id);
const events = (id: string, event: string) => approvalRecords(id).filter((r) => r.event === event);

function report(replica: 'A' | 'B', id: string, body: Record<string, string>, key = toolKey) {
  return rawPost(`${urls[replica]}/approvals/${id}/used`, form(body), { authorization: `Bearer ${key}` });
}

describe.runIf(redisUp)('the tool reports the use of an approved token (two replicas, Redis)', () => {
  it('not gated: the token response carries the canonical authorization_details (RFC 9396 §7), as the token does', async () => {
    const response = await exchange('B', { payee: 'ACME', amount: '999.9', currency: 'EUR' });
    expect(response.status).toBe(200);
    expect(response.body.authorization_details).toEqual([expect.objectContaining({ type: 'payment', amount: '999.90', currency: 'EUR', locations: [PAYMENTS] })]);
    expect(response.body.authorization_details).toEqual(claimsOf(String(response.body.access_token)).authorization_details);
  });


  it('used once at the tool: one `used` record with the approval id and jti; the second use refused and recorded as replayed', async () => {
    const call = { payee: 'ACME GmbH', amount: '1500.00', currency: 'EUR' };
    const { id, token, validated } = await approvedToken(call);
    const store = redisReplayStore(redis, { prefix: `${prefix}tool:` });
    const errors: unknown[] = [];
    const toolA = new ActionGuard({ replayStore: store, reportUse: brokerUseReporter({ issuer: urls.A, key: toolKey }), onReportError: (err) => errors.push(err) });
    const toolB = new ActionGuard({ replayStore: store, reportUse: brokerUseReporter({ issuer: urls.B, key: toolKey }), onReportError: (err) => errors.push(err) });

    await expect(toolA.check(validated, { action: 'create_payment', arguments: call })).resolves.toMatchObject({ approvalId: id });
    expect(events(id, 'used')).toEqual([expect.objectContaining({
      approval_id: id, token: { jti: validated.jti, exp: validated.exp }, by: 'payments-service', via: 'validator', agent: { client_id: 'pay-agent' },
    })]);
    const shown = await fetch(`${urls.B}/admin/approvals/${id}`, { headers: { authorization: `Bearer ${financeKey}` } });
    expect(((await shown.json()) as { approval: Record<string, unknown> }).approval).toMatchObject({ status: 'minted', minted_jti: validated.jti, used: { by: 'payments-service' } });

    await expect(toolB.check(validated, { action: 'create_payment', arguments: call }))
      .rejects.toMatchObject({ status: 401, code: 'invalid_token', description: 'this single-use token has already been used' });
    expect(events(id, 'replayed')).toEqual([expect.objectContaining({ token: { jti: validated.jti, exp: validated.exp }, reason: 'a further use was refused by the tool' })]);
    expect(events(id, 'used')).toHaveLength(1);
    expect(errors).toEqual([]);
    for (const record of approvalRecords(id)) expect(JSON.stringify(record)).not.toContain(token);
  });

  it('a report is idempotent per use id, authenticated, and only about the approval\'s own token', async () => {
    const call = { payee: 'Bob', amount: '2500.00', currency: 'EUR' };
    const { id, token, validated } = await approvedToken(call);
    const other = await approvedToken({ payee: 'Carol', amount: '2600.00', currency: 'EUR' });
    const body = { token, outcome: 'used', use_id: 'use-0123456789abcdef' };

    // No validator key / a wrong one: 401, nothing recorded.
    const anonymous = await rawPost(`${urls.A}/approvals/${id}/used`, form(body));
    expect(anonymous).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect((await report('A', id, body, `${toolKey}x`)).status).toBe(401);
    // A validator key for another tool cannot see this token; another approval's token does not count.
    expect(await report('A', id, body, otherToolKey)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await report('A', id, { ...body, token: other.token })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await report('A', id, { ...body, outcome: 'maybe' })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await report('A', id, { ...body, use_id: 'short' })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(approvalRecords(id).filter((r) => r.event === 'used' || r.event === 'replayed')).toEqual([]);

    // The same report twice (a retry), at either replica: recorded once.
    expect(await report('A', id, body)).toMatchObject({ status: 200, body: { recorded: 'used' } });
    expect(await report('B', id, body)).toMatchObject({ status: 200, body: { recorded: 'already' } });
    expect(events(id, 'used')).toEqual([expect.objectContaining({ token: { jti: validated.jti, exp: validated.exp } })]);
    expect(events(id, 'replayed')).toEqual([]);
    expect(events(other.id, 'used')).toEqual([]);
  });

  it('tool replicas that do not share a replay store: the broker has seen the first use and the second is refused', async () => {
    const call = { payee: 'Dave', amount: '3000.00', currency: 'EUR' };
    const { id, validated } = await approvedToken(call);
    // Each guard remembers uses in its own process only (a misconfigured tool): both think the use is new.
    const [toolA, toolB] = ['A', 'B'].map((replica) => new ActionGuard({ reportUse: brokerUseReporter({ issuer: urls[replica as 'A' | 'B'], key: toolKey }) }));
    await expect(toolA!.check(validated, { action: 'create_payment', arguments: call })).resolves.toMatchObject({ approvalId: id });
    await expect(toolB!.check(validated, { action: 'create_payment', arguments: call }))
      .rejects.toMatchObject({ status: 401, code: 'invalid_token', description: 'this single-use token has already been used' });
    expect(events(id, 'used')).toHaveLength(1);
    expect(events(id, 'replayed')).toEqual([expect.objectContaining({ reason: 'a further use was accepted by the tool: its replicas do not share one replay store' })]);
  });
});
