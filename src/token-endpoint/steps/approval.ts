/**
 * Steps `approval` and `approval-claim` (issue 18): the human-approval gate on a decided grant, and the claim
 * of an approved request's single token. The logic is the approval gate's (src/guardrails/approvals/
 * approval-step.ts); these steps only carry it into the pipeline.
 *  - `approval` (after `decide`): reads `authorization_details` and `approval_id`; not gated -> the token
 *    carries the canonical details; gated -> 400 `authorization_pending` / `slow_down` with `approval_id`,
 *    `interval`, `expires_in` (CIBA Core §11), `access_denied`, `expired_token`, or, approved, a single-use
 *    grant: its lifetime narrowed to at most a minute (this step re-establishes `grant` for that reason only).
 *  - `approval-claim` (after `re-check`): approved -> minted, once across replicas, recorded; else no token.
 */
import { deny } from '../../exchange/reasons.js';
import type { ApprovalGate } from '../../guardrails/approvals/approval-step.js';
import { defineStep, refuse } from '../pipeline/step.js';

export interface ApprovalDeps {
  /** Absent: `authorization_details` are not read and nothing is gated (tests of other steps). */
  readonly approvals?: ApprovalGate;
}

export const approval = defineStep<ApprovalDeps, 'agent' | 'tool' | 'grant' | 'form'>('approval', ['agent', 'tool', 'grant', 'form'], async (facts, request, deps) => {
  if (!deps.approvals) return {};
  const details = facts.form.authorization_details;
  const approvalId = facts.form.approval_id;
  // `parse` refuses repeats of these (single-valued): an array here would be a bug upstream, so refuse too.
  if (Array.isArray(details) || Array.isArray(approvalId)) return deny('request_malformed', 'authorization_details and approval_id must appear at most once');
  const step = await deps.approvals.run({
    tool: facts.tool, grant: facts.grant, agentId: facts.agent.clientId,
    rawDetails: typeof details === 'string' && details !== '' ? details : undefined,
    approvalId: typeof approvalId === 'string' && approvalId !== '' ? approvalId : undefined,
    requestId: facts.requestId, callerAddress: request.address,
  });
  if ('decision' in step) return step;
  if (step.step === 'answer') return refuse(step.denial, { fields: step.members });
  return {
    ...(step.grant !== facts.grant ? { grant: step.grant } : {}),
    approval: { claims: step.claims, ...(step.approvalId !== undefined ? { approvalId: step.approvalId } : {}) },
  };
});

export const approvalClaim = defineStep<ApprovalDeps, 'minted'>('approval-claim', ['minted'], async (facts, request, deps) => {
  const approvalId = facts.approval?.approvalId;
  if (approvalId === undefined || !deps.approvals) return {};
  const refusal = await deps.approvals.claimMinted(approvalId, { jti: facts.minted.jti, exp: facts.minted.exp }, { requestId: facts.requestId, callerAddress: request.address });
  return refusal ?? {};
});
