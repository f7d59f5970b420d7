/**
 * Step `approval` (issue 18 §1): the approval gate (src/guardrails/approvals/approval-step.ts) after the
 * decision and the stage: not gated -> on; gated -> the CIBA-style pending answer (`authorization_pending`
 * with approval_id, interval, expires_in; no token); approved -> on, with the claims the single-use token
 * carries. A supervised agent's write scopes are gated as if the catalog said `approval: required`.
 */
import { isDenial } from '../../exchange/reasons.js';
import type { ApprovalGate } from '../../guardrails/approvals/approval-step.js';
import { supervisedTool } from '../../guardrails/guardrail-step.js';
import { isReadScope } from '../../guardrails/stages/stage.js';
import { defineStep, refuse } from '../pipeline/step.js';
import { singleValue } from './single-value.js';

export interface ApprovalDeps {
  readonly approvals: ApprovalGate;
}

export const approval = defineStep<ApprovalDeps, 'grant' | 'agent' | 'tool' | 'form'>('approval', ['grant', 'agent', 'tool', 'form'], async (facts, req, deps) => {
  const { tool, grant } = facts;
  const gatedTool = facts.stage === 'supervised' ? supervisedTool(tool, grant.scopes.granted.filter((s) => !isReadScope(tool, s))) : tool;
  const step = await deps.approvals.run({
    tool: gatedTool, grant, agentId: facts.agent.clientId, rawDetails: singleValue(facts.form, 'authorization_details'),
    approvalId: singleValue(facts.form, 'approval_id'), requestId: facts.requestId, callerAddress: req.address,
  });
  if (isDenial(step)) return step;
  if (step.step === 'answer') return refuse(step.denial, { fields: step.members });
  return { approval: step, grant: step.grant };
});

/** Step `approval-used`: an approved request's single token is claimed (once, on every replica) and recorded. */
export const approvalUsed = defineStep<ApprovalDeps, 'minted'>('approval-used', ['minted'], async (facts) => {
  const refusal = await facts.approval?.minted({ jti: facts.minted.jti, exp: facts.minted.exp });
  return refusal ?? {};
});
