/**
 * Issue 18 §4: explain runs /token's own steps (explain-steps.ts), so the two cannot disagree. The list is
 * /token's slice from `decide` to `mint`; and over real HTTP, a real identity provider and the sample
 * payments catalog, explain and /token give the same verdict before and after a catalog rule changes (hot
 * reload), while explain mints nothing, spends no budget and opens no approval.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../../src/admin/admin-auth.js';
import { buildCatalog } from '../../../src/config/load-catalog.js';
import type { Catalog } from '../../../src/domain/catalog.js';
import { EXPLAIN_STEPS } from '../../../src/guardrails/explain/explain-steps.js';
import { TOKEN_STEPS } from '../../../src/token-endpoint/token-steps.js';
import { secretAgent } from '../../support/attack-bed.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../../support/broker-harness.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../../support/upstream-idp.js';
import { paymentDetail, type PaymentCall } from '../payments-tool.js';

const SECRET = 'explain-agrees-secret';
const PAYMENTS = 'https://payments.example.internal/api';
const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');

let broker: RunningTestBroker;
let idp: UpstreamIdp;
let adminKey: string;
let catalog: Catalog;

type Rec = Record<string, unknown>;
/** A member of a parsed YAML mapping, as a mapping. */
const at = (value: unknown, ...keys: string[]): Rec => keys.reduce<Rec>((o, key) => o[key] as Rec, value as Rec);

/** The sample payments tool, with `edit` applied to its YAML. */
async function paymentsCatalog(edit: (data: Rec) => void = () => undefined): Promise<Catalog> {
  const data = parseYaml(await readFile(path.join(REPO_ROOT, 'scopes/payments.yaml'), 'utf8')) as Rec;
  edit(data);
  return buildCatalog([{ source: 'scopes/payments.yaml', data }]);
}

beforeAll(async () => {
  const admin = await createAdminKey('dev-admin');
  adminKey = admin.key;
  catalog = await paymentsCatalog();
  const agent = await secretAgent('pay-agent', SECRET, { payments: ['payments.read', 'payments.create'] }, {
    budgets: { tools: new Map([['payments', { exchangesPerHour: 50, amountMinorPerDay: new Map([['EUR', 1_000_000]]) }]]), onExceed: 'refuse' },
  });
  const reserved = await reserveBroker();
  idp = await startUpstreamIdp({ audience: reserved.issuer, tokenTtlSeconds: 3600 });
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)], catalog, agents: [agent],
    config: { adminKeys: [{ id: 'dev-admin', hash: admin.hash }] },
    loadConfigSet: () => Promise.resolve({ catalog, agents: { agents: new Map([[agent.clientId, agent]]) } }),
  });
}, 60_000);

afterAll(async () => {
  await broker.close();
  await idp.close();
});

async function admin(method: string, pathname: string, body?: unknown): Promise<Rec> {
  const res = await fetch(`${broker.issuer}${pathname}`, { method, headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  expect(res.status).toBe(200);
  return (await res.json()) as Rec;
}

async function both(call: PaymentCall, scope = 'payments.create'): Promise<{ token: RawResponse; explained: Rec }> {
  const alice = await idp.userToken('alice');
  const details = [paymentDetail(call)];
  const recordsBefore = broker.sink.records.length;
  const explained = await admin('POST', '/admin/explain', { agent: 'pay-agent', tool: 'payments', scope, subject_token: alice, authorization_details: details });
  // Explain itself writes nothing to the attribution log and mints nothing.
  expect(broker.sink.records.length).toBe(recordsBefore);
  expect(explained.token_minted).toBe(false);
  const token = await rawPost(broker.tokenEndpoint, form({
    grant_type: TE_GRANT, subject_token: alice, subject_token_type: AT_TYPE, resource: PAYMENTS, scope, authorization_details: JSON.stringify(details),
  }), { authorization: basic('pay-agent', SECRET) });
  return { token, explained };
}

/** What /token answered, in explain's words. */
function verdictOf(token: RawResponse): { verdict: string; error?: unknown } {
  if (token.status === 200) return { verdict: 'granted' };
  return { verdict: token.body.error === 'authorization_pending' ? 'approval_required' : 'denied', error: token.body.error };
}

async function reloadWith(next: Catalog): Promise<void> {
  catalog = next;
  const result = await broker.broker.reloader.reload({ by: 'test' });
  expect(result).toMatchObject({ ok: true, changed: true });
}

describe('explain runs /token\'s steps', () => {
  it('its list is /token\'s from decide up to mint, the same step objects in the same order', () => {
    const from = TOKEN_STEPS.findIndex((s) => s.name === 'decide');
    const to = TOKEN_STEPS.findIndex((s) => s.name === 'mint');
    expect(from).toBeGreaterThan(0);
    expect(EXPLAIN_STEPS.map((s) => s.name)).toEqual(TOKEN_STEPS.slice(from, to).map((s) => s.name));
    EXPLAIN_STEPS.forEach((step, i) => { expect(step).toBe(TOKEN_STEPS[from + i]); });
  });

  it('agrees with /token before and after a catalog rule changes; explain opens no approval and spends no budget', async () => {
    const call = { payee: 'ACME GmbH', amount: '1500.00', currency: 'EUR' };
    const budgetBefore = await admin('GET', '/admin/budgets/pay-agent');
    const approvalsBefore = (await admin('GET', '/admin/approvals')).approvals as unknown[];

    // The sample rule: above 1000.00 EUR a person approves.
    const gated = await both(call);
    expect(gated.explained).toMatchObject({ verdict: 'approval_required', reason: 'approval_pending', approval: { required: true, why: ['1500.00 EUR is above 1000.00 EUR'] } });
    expect(verdictOf(gated.token)).toEqual({ verdict: gated.explained.verdict, error: gated.explained.error });
    // Only /token opened an approval; the budget step never ran for either (nothing is minted while pending).
    expect((await admin('GET', '/admin/approvals')).approvals).toHaveLength(approvalsBefore.length + 1);

    // The threshold raised to 2000.00 EUR: the same payment is no longer gated, at /token and in explain.
    await reloadWith(await paymentsCatalog((d) => { at(d, 'action_types', 'payment', 'approval', 'amount_above').EUR = '2000.00'; }));
    const explainedOnly = await admin('POST', '/admin/explain', { agent: 'pay-agent', tool: 'payments', scope: 'payments.create', subject_token: await idp.userToken('alice'), authorization_details: [paymentDetail(call)] });
    expect(explainedOnly).toMatchObject({ verdict: 'granted', approval: { required: false } });
    // Explain only peeked at the budget: nothing spent yet.
    expect(await admin('GET', '/admin/budgets/pay-agent')).toEqual(budgetBefore);
    expect(explainedOnly.budget).toEqual(expect.arrayContaining([expect.objectContaining({ metric: 'amount_per_day:EUR', used: 0, would_add: 150_000, room: true })]));
    const ungated = await both(call);
    expect(ungated.explained.verdict).toBe('granted');
    expect(verdictOf(ungated.token)).toEqual({ verdict: 'granted' });
    expect(ungated.token.body.authorization_details).toEqual([expect.objectContaining({ amount: '1500.00' })]);

    // payments.create no longer justified by the user's payments.write: both refuse with invalid_scope.
    await reloadWith(await paymentsCatalog((d) => { at(d, 'scopes', 'payments.create').justified_by = ['payments.admin']; }));
    const unjustified = await both(call);
    expect(unjustified.explained).toMatchObject({ verdict: 'denied', error: 'invalid_scope', reason: 'scope_empty_after_narrowing' });
    expect(verdictOf(unjustified.token)).toEqual({ verdict: 'denied', error: 'invalid_scope' });
    expect(unjustified.explained.scopes).toEqual([expect.objectContaining({ scope: 'payments.create', kept: false, reason: 'not_justified_by_user' })]);
  });
});
