/**
 * `broker approvals` against a running broker (in-memory state, the embedded default): the CLI lists the
 * pending request with who, what and why, approves it with the finance key, and the agent's next poll gets
 * the token; a key without an approver role is refused and the CLI exits 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { runApprovals } from '../../src/cli/approvals-command.js';
import { secretAgent } from '../support/attack-bed.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { paymentDetail, sampleCatalog } from '../guardrails/payments-tool.js';

let idp: UpstreamIdp;
let broker: RunningTestBroker;
let url: string;
let finance: string;
let viewer: string;
let skewMs = 0;

beforeAll(async () => {
  const reserved = await reserveBroker();
  url = reserved.url;
  idp = await startUpstreamIdp({ audience: reserved.issuer });
  const [f, v] = [await createAdminKey('dev-admin'), await createAdminKey('auditor')];
  finance = f.key;
  viewer = v.key;
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)],
    catalog: await sampleCatalog(),
    agents: [await secretAgent('cli-agent', 'cli-agent-secret', { payments: ['payments.create'] })],
    config: { adminKeys: [{ id: 'dev-admin', hash: f.hash }, { id: 'auditor', hash: v.hash, role: 'viewer' }] },
    now: () => Date.now() + skewMs,
  });
});
afterAll(async () => {
  await broker.close();
  await idp.close();
});

const call = { payee: 'ACME', amount: '5000.00', currency: 'EUR' };
const exchange = async (extra: Record<string, string> = {}) => rawPost(`${url}/token`, form({
  grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE,
  resource: 'https://payments.example.internal/api', scope: 'payments.create', authorization_details: JSON.stringify([paymentDetail(call)]), ...extra,
}), { authorization: basic('cli-agent', 'cli-agent-secret') });

describe('broker approvals (CLI)', () => {
  it('lists, refuses a non-approver, approves; the agent then gets its single-use token', async () => {
    const asked = await exchange();
    expect(asked.body).toMatchObject({ error: 'authorization_pending' });
    const id = String(asked.body.approval_id);
    const out: string[] = [];
    const err: string[] = [];
    expect(await runApprovals({ url, key: finance }, { kind: 'list', status: 'pending' }, (l) => out.push(l), (l) => err.push(l))).toBe(0);
    expect(out).toEqual([expect.stringContaining(`${id}  pending  agent cli-agent -> payments for alice: 5000.00 EUR is above 1000.00 EUR`)]);

    expect(await runApprovals({ url, key: viewer }, { kind: 'decide', id, decision: 'approve' }, (l) => out.push(l), (l) => err.push(l))).toBe(1);
    expect(err).toEqual(['failed: HTTP 403 insufficient_scope: this admin key holds no approver role for this tool']);

    expect(await runApprovals({ url, key: finance }, { kind: 'decide', id, decision: 'approve', reason: 'invoice 7' }, (l) => out.push(l), (l) => err.push(l))).toBe(0);
    expect(JSON.parse(out.at(-1)!)).toMatchObject({ status: 'approved', decision: { by: 'dev-admin', via: 'cli', as: 'role:finance' } });

    skewMs += 6000;
    const minted = await exchange({ approval_id: id });
    expect(minted.status).toBe(200);
    expect(broker.sink.records.filter((r) => r.type === 'approval' && r.approval_id === id).map((r) => (r.type === 'approval' ? r.event : ''))).toEqual(['requested', 'decision_refused', 'approved', 'minted']);

    out.length = 0;
    expect(await runApprovals({ url, key: viewer }, { kind: 'stats' }, (l) => out.push(l), (l) => err.push(l))).toBe(0);
    expect(out).toEqual(['payments: 1 of 1 exchanges gated (100.0 %)']);
  });
});
