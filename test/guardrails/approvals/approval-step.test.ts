/**
 * Steps `approval` and `approval-claim` (src/token-endpoint/steps/approval.ts), called directly with plain
 * data: the real gate over an in-memory store, the sample payments tool, no HTTP. Not gated -> the grant and
 * the token carry the canonical details; gated -> the pending refusal with its members and one `requested`
 * record; approved -> a single-use grant, claimed once; the approval's token twice -> approval_used.
 */
import { describe, expect, it } from 'vitest';
import type { Tool } from '../../../src/domain/catalog.js';
import type { Grant } from '../../../src/domain/exchange.js';
import type { ApprovalRecord } from '../../../src/guardrails/approvals/approval-record.js';
import { createApprovalGate } from '../../../src/guardrails/approvals/approval-step.js';
import { MemoryApprovalStore } from '../../../src/guardrails/approvals/approval-store.js';
import { approval, approvalClaim } from '../../../src/token-endpoint/steps/approval.js';
import { makeAgent } from '../../exchange/fixtures.js';
import { denialOf, refusalOf, runStep, START } from '../../token-endpoint/steps/step-kit.js';
import { paymentDetail, paymentsTool } from '../payments-tool.js';

const NOW_MS = 1_800_000_000_000;
const tool: Tool = await paymentsTool();
const agent = makeAgent({ clientId: 'pay-agent' });
const grant: Grant = {
  decision: 'granted', tool, subject: { iss: 'https://idp', sub: 'alice' }, act: { sub: 'pay-agent' },
  scopes: { requested: ['payments.create'], granted: ['payments.create'], dropped: [] },
  iat: NOW_MS / 1000, exp: NOW_MS / 1000 + 300, lifetimeBoundBy: 'tool_max_ttl', issuedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
};

function setup() {
  let nowMs = NOW_MS;
  const records: ApprovalRecord[] = [];
  const store = new MemoryApprovalStore(() => nowMs);
  const gate = createApprovalGate({ store, record: (r) => { records.push(r); return Promise.resolve(); }, now: () => nowMs });
  return { store, records, deps: { approvals: gate }, advance: (ms: number) => { nowMs += ms; } };
}

const details = (amount: string) => JSON.stringify([paymentDetail({ payee: 'ACME', amount, currency: 'EUR' })]);
const factsFor = (form: Record<string, string | string[]>) => ({ ...START, agent, tool, grant, form });

describe('step approval', () => {
  it('without the gate configured it establishes nothing', async () => {
    expect(await runStep(approval, factsFor({ authorization_details: details('1500.00') }), {})).toEqual({});
  });

  it('not gated: the grant and the token claims carry the canonical authorization_details; nothing is recorded', async () => {
    const { deps, records, store } = setup();
    const result = await runStep(approval, factsFor({ authorization_details: details('999.9') }), deps) as { grant: Grant; approval: { claims: Record<string, unknown>; approvalId?: string } };
    expect(result.approval.approvalId).toBeUndefined();
    expect(result.approval.claims.authorization_details).toEqual([expect.objectContaining({ amount: '999.90', locations: [tool.resource] })]);
    expect(result.grant.authorizationDetails).toEqual(result.approval.claims.authorization_details);
    expect(result.grant.exp).toBe(grant.exp);
    expect(records).toEqual([]);
    expect(await store.list({ limit: 10, nowMs: NOW_MS })).toEqual([]);
  });

  it('gated: refused with authorization_pending, approval_id, interval and expires_in; one requested record', async () => {
    const { deps, records, store } = setup();
    const refusal = refusalOf(await runStep(approval, factsFor({ authorization_details: details('1500.00') }), deps));
    expect(refusal?.denial).toMatchObject({ reason: 'approval_pending', error: 'authorization_pending' });
    expect(refusal?.fields).toMatchObject({ interval: 5, expires_in: 600 });
    expect(String(refusal?.fields?.approval_id)).toMatch(/^apr_/u);
    expect(records.map((r) => r.event)).toEqual(['requested']);
    expect(await store.get(String(refusal?.fields?.approval_id))).toMatchObject({ status: 'pending', binding: { agent: 'pay-agent', tool: 'payments' } });
  });

  it('repeated parameters and undescribed gated scopes are refused with the exact reason', async () => {
    const { deps } = setup();
    expect(denialOf(await runStep(approval, factsFor({ authorization_details: [details('1.00'), details('2.00')] }), deps))).toMatchObject({ reason: 'request_malformed', error: 'invalid_request' });
    expect(denialOf(await runStep(approval, factsFor({}), deps))).toMatchObject({ reason: 'authorization_details_required', error: 'invalid_authorization_details' });
    expect(denialOf(await runStep(approval, factsFor({ authorization_details: details('1500.00'), approval_id: 'apr_nope' }), deps))).toMatchObject({ reason: 'approval_unknown', error: 'invalid_grant' });
  });

  it('approved: a single-use grant (at most 60 s) naming the approval; approval-claim claims it once', async () => {
    const { deps, store, records, advance } = setup();
    const asked = refusalOf(await runStep(approval, factsFor({ authorization_details: details('1500.00') }), deps));
    const id = String(asked?.fields?.approval_id);
    expect((await store.decide(id, 'approved', { by: 'dev-admin', via: 'admin_api', as: 'role:finance', atMs: NOW_MS + 1000 })).ok).toBe(true);
    advance(6000);
    const approved = await runStep(approval, factsFor({ authorization_details: details('1500.00'), approval_id: id }), deps) as { grant: Grant; approval: { claims: Record<string, unknown>; approvalId?: string } };
    expect(approved.approval).toMatchObject({ approvalId: id, claims: { approval_id: id } });
    expect(approved.grant).toMatchObject({ exp: grant.iat + 60, lifetimeBoundBy: 'approval_single_use' });

    const minted = { jti: 'jti-1', exp: grant.iat + 60, iat: grant.iat, token: 'not-a-real-token' };
    const claimFacts = { ...START, minted, approval: approved.approval };
    expect(await runStep(approvalClaim, claimFacts, deps)).toEqual({});
    expect(records.filter((r) => r.event === 'minted')).toEqual([expect.objectContaining({ approval_id: id, token: { jti: 'jti-1', exp: grant.iat + 60 } })]);
    expect(denialOf(await runStep(approvalClaim, { ...claimFacts, minted: { ...minted, jti: 'jti-2' } }, deps))).toMatchObject({ reason: 'approval_used', error: 'invalid_grant' });
    expect(denialOf(await runStep(approval, factsFor({ authorization_details: details('1500.00'), approval_id: id }), deps))).toMatchObject({ reason: 'approval_used' });
  });
});
