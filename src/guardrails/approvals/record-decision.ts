/**
 * A person's decision on an approval, taken once across replicas (the store's `decide`) and recorded: the
 * decision itself, or the refusal (lapsed, already decided, unknown) against the approval it named. One
 * place for every surface that decides: the admin API and the signed links (approval-routes.ts) and the
 * console (src/console/approvals-api.ts).
 */
import type { Approval, ApprovalDecisionMade } from './approval.js';
import { approvalRecord, type ApprovalRecord } from './approval-record.js';
import type { ApprovalStore } from './approval-store.js';

export interface DecisionContext {
  readonly nowMs: number;
  readonly requestId: string;
  readonly callerAddress: string;
}

export type RecordedDecision =
  | { readonly ok: true; readonly approval: Approval }
  | { readonly ok: false; readonly error: 'expired_token' | 'invalid_request'; readonly why: string };

export async function decideAndRecord(
  deps: { readonly store: ApprovalStore; readonly record: (record: ApprovalRecord) => Promise<void> },
  approval: Approval,
  status: 'approved' | 'rejected',
  made: ApprovalDecisionMade,
  context: DecisionContext,
  reason?: string,
): Promise<RecordedDecision> {
  const who = { by: made.by, via: made.via, as: made.as };
  const result = await deps.store.decide(approval.id, status, made);
  if (!result.ok) {
    const why = result.why === 'expired' ? 'the approval request has lapsed' : result.why === 'not_found' ? 'no such approval' : `already ${result.approval?.status ?? 'decided'}`;
    await deps.record(approvalRecord(approval, 'decision_refused', { ...context, ...who, reason: why }));
    return { ok: false, error: result.why === 'expired' ? 'expired_token' : 'invalid_request', why };
  }
  await deps.record(approvalRecord(result.approval, status, { ...context, ...who, ...(reason !== undefined ? { reason } : {}) }));
  return { ok: true, approval: result.approval };
}
