/**
 * Issue 18, the notification and its links when things go wrong (real HTTP, a real identity provider, a real
 * webhook receiver): the receiver answers 500 or never answers -> one `notify_failed` record, and the
 * request stays pollable and decidable; a tampered or expired approve/reject link decides nothing, answers
 * the exact error page, and the attempt is recorded. The webhook URL and timeout come from the broker-wide
 * approval settings (broker.yaml `approvals:`), the sample payments tool naming no `notify_url` of its own.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../../src/admin/admin-auth.js';
import type { AttributionRecord } from '../../../src/attribution/record.js';
import type { ApprovalRecord } from '../../../src/guardrails/approvals/approval-record.js';
import { secretAgent } from '../../support/attack-bed.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../../support/broker-harness.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../../support/upstream-idp.js';
import { paymentDetail, sampleCatalog, type PaymentCall } from '../payments-tool.js';

const SECRET = 'notify-links-agent-secret';
const PAYMENTS = 'https://payments.example.internal/api';

let broker: RunningTestBroker;
let idp: UpstreamIdp;
let hookServer: Server;
let financeKey: string;
let mode: 'ok' | 'fail' | 'hang' = 'ok';
const delivered: string[] = [];
let skewMs = 0;
const now = () => Date.now() + skewMs;

beforeAll(async () => {
  hookServer = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      if (mode === 'hang') return; // a SaaS endpoint that never answers
      if (mode === 'fail') { res.writeHead(500).end('{"ok":false,"error":"internal_error"}'); return; }
      delivered.push(body);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  const finance = await createAdminKey('dev-admin');
  financeKey = finance.key;
  const reserved = await reserveBroker();
  idp = await startUpstreamIdp({ audience: reserved.issuer, tokenTtlSeconds: 7200 });
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)], catalog: await sampleCatalog(),
    agents: [await secretAgent('pay-agent', SECRET, { payments: ['payments.create'] })], now,
    config: { adminKeys: [{ id: 'dev-admin', hash: finance.hash }] },
    approvals: {
      webhookSecret: 'notify-links-webhook-secret-0123456789', webhookTimeoutMs: 300,
      webhookUrl: `http://127.0.0.1:${String((hookServer.address() as AddressInfo).port)}/hook`,
    },
  });
}, 60_000);

afterAll(async () => {
  await broker.close();
  hookServer.closeAllConnections();
  await new Promise((resolve) => hookServer.close(resolve));
  await idp.close();
});

async function exchange(call: PaymentCall, extra: Record<string, string> = {}): Promise<RawResponse> {
  return rawPost(broker.tokenEndpoint, form({
    grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE,
    resource: PAYMENTS, scope: 'payments.create', authorization_details: JSON.stringify([paymentDetail(call)]), ...extra,
  }), { authorization: basic('pay-agent', SECRET) });
}

const records = (id: string, event?: string): ApprovalRecord[] => broker.sink.records
  .filter((r: AttributionRecord): r is ApprovalRecord => r.type === 'approval' && r.approval_id === id && (event === undefined || r.event === event));

async function status(id: string): Promise<unknown> {
  const res = await fetch(`${broker.issuer}/admin/approvals/${id}`, { headers: { authorization: `Bearer ${financeKey}` } });
  return ((await res.json()) as { approval: { status: unknown } }).approval.status;
}

const decide = (id: string, decision: 'approve' | 'reject') =>
  fetch(`${broker.issuer}/admin/approvals/${id}/${decision}`, { method: 'POST', headers: { authorization: `Bearer ${financeKey}` } });

/** Asks; waits for the notification to finish; returns the approval id. */
async function ask(call: PaymentCall): Promise<string> {
  const asked = await exchange(call);
  expect(asked.body.error).toBe('authorization_pending');
  await broker.approvals.gate.settled();
  return String(asked.body.approval_id);
}

const postLink = (token: string) => fetch(`${broker.issuer}/approvals/decide`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ token }) });

describe('approval notifications that fail, and links that are not valid', () => {
  it('the webhook answers 500: one notify_failed record; the request is still pollable and decidable', async () => {
    mode = 'fail';
    const call = { payee: 'ACME GmbH', amount: '1500.00', currency: 'EUR' };
    const id = await ask(call);
    expect(records(id, 'notify_failed')).toEqual([expect.objectContaining({ via: 'webhook', reason: 'the webhook answered 500' })]);
    expect(records(id, 'notified')).toEqual([]);
    skewMs += 6000;
    const polled = await exchange(call, { approval_id: id });
    expect(polled.body).toMatchObject({ error: 'authorization_pending', approval_id: id });
    expect((await decide(id, 'approve')).status).toBe(200);
    skewMs += 6000;
    const minted = await exchange(call, { approval_id: id });
    expect(minted.status).toBe(200);
    expect(minted.body.access_token).toEqual(expect.any(String));
  });

  it('the webhook never answers: notify_failed after the configured timeout; the request is still decidable', async () => {
    mode = 'hang';
    const call = { payee: 'Slow Ltd', amount: '2500.00', currency: 'EUR' };
    const started = Date.now();
    const id = await ask(call);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(records(id, 'notify_failed')).toEqual([expect.objectContaining({ reason: 'the webhook could not be reached (TimeoutError)' })]);
    expect((await decide(id, 'reject')).status).toBe(200);
    skewMs += 6000;
    const refused = await exchange(call, { approval_id: id });
    expect(refused).toMatchObject({ status: 400, body: { error: 'access_denied' } });
    expect(refused.body).not.toHaveProperty('access_token');
  });

  it('a tampered link decides nothing: the exact error page, still pending, the attempt recorded', async () => {
    mode = 'ok';
    const call = { payee: 'Tamper GmbH', amount: '3000.00', currency: 'EUR' };
    const id = await ask(call);
    const payload = JSON.parse(delivered.find((body) => body.includes(id))!) as { blocks: { type: string; elements?: { url?: string; action_id?: string }[] }[] };
    const reject = new URL(payload.blocks.find((b) => b.type === 'actions')!.elements!.find((e) => e.action_id === 'reject')!.url!).searchParams.get('token')!;
    // Turn the reject link into an approve link: the payload changes, the MAC no longer matches.
    const [body, mac] = reject.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = `${Buffer.from(JSON.stringify({ ...claims, d: 'approve' })).toString('base64url')}.${mac}`;
    const res = await postLink(forged);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('This approval link is not valid.');
    expect(await status(id)).toBe('pending');
    expect(records(id, 'decision_refused')).toEqual([expect.objectContaining({ by: 'link', via: 'link', reason: 'decision link not valid (signature)' })]);
    expect(records(id).filter((r) => r.event === 'approved' || r.event === 'rejected')).toEqual([]);
  });

  it('an expired link decides nothing: the exact error page, the attempt recorded, the agent hears expired_token', async () => {
    mode = 'ok';
    const call = { payee: 'Late AG', amount: '4000.00', currency: 'EUR' };
    const id = await ask(call);
    const payload = JSON.parse(delivered.find((body) => body.includes(id))!) as { blocks: { type: string; elements?: { url?: string; action_id?: string }[] }[] };
    const approve = new URL(payload.blocks.find((b) => b.type === 'actions')!.elements!.find((e) => e.action_id === 'approve')!.url!).searchParams.get('token')!;
    skewMs += 601_000; // past the 10-minute lapse the sample catalog sets
    const res = await postLink(approve);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('This approval link is expired.');
    expect(await status(id)).toBe('expired');
    expect(records(id, 'decision_refused')).toEqual([expect.objectContaining({ reason: 'decision link expired' })]);
    expect(records(id, 'approved')).toEqual([]);
    const refused = await exchange(call, { approval_id: id });
    expect(refused).toMatchObject({ status: 400, body: { error: 'expired_token' } });
    expect(refused.body).not.toHaveProperty('access_token');
  });
});
