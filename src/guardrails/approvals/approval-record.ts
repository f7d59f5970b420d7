/**
 * Attribution records for each step of an approval (issue 18): requested, notified (or notify_failed),
 * approved / rejected (by whom, through which channel, as which approver), refused decisions, minted, and
 * the tool's reports: `used` (the single-use token accepted, once) and `replayed` (a further use, refused by
 * the tool's SDK or, with a replay store that is not shared, accepted by a second replica).
 * Same stream as the exchanges, own type. Never a token: the minted token appears by `jti` only.
 */
import { randomUUID } from 'node:crypto';
import type { Approval, ApprovalTrigger } from './approval.js';

export const APPROVAL_EVENTS = ['requested', 'notified', 'notify_failed', 'approved', 'rejected', 'decision_refused', 'minted', 'used', 'replayed'] as const;
export type ApprovalEvent = (typeof APPROVAL_EVENTS)[number];

export interface ApprovalRecord {
  readonly v: 1;
  readonly type: 'approval';
  readonly id: string;
  readonly time: string;
  readonly request_id: string;
  readonly event: ApprovalEvent;
  readonly approval_id: string;
  readonly agent: { readonly client_id: string };
  readonly user: { readonly iss: string; readonly sub: string };
  readonly tool: { readonly id: string; readonly resource: string };
  readonly scopes: readonly string[];
  /** Each described action: type, action name, digest of its canonical arguments. */
  readonly actions: readonly { readonly type: string; readonly action: string; readonly arguments_sha256: string }[];
  readonly details_sha256: string;
  readonly triggers?: readonly ApprovalTrigger[];
  /** Who decided (admin key id, or `user:<sub>` / `link`), through which channel, as which approver. */
  readonly by?: string;
  readonly via?: string;
  readonly as?: string;
  /** For `minted`, `used`, `replayed`: the single-use token, by `jti` and `exp` only. */
  readonly token?: { readonly jti: string; readonly exp: number };
  /** For `notify_failed`, `decision_refused` and `replayed`: why. */
  readonly reason?: string;
  readonly caller: { readonly address: string };
}

export function approvalRecord(approval: Approval, event: ApprovalEvent, context: {
  readonly nowMs: number;
  readonly requestId: string;
  readonly callerAddress: string;
  readonly by?: string;
  readonly via?: string;
  readonly as?: string;
  readonly token?: { readonly jti: string; readonly exp: number };
  readonly reason?: string;
}): ApprovalRecord {
  const { binding } = approval;
  return {
    v: 1,
    type: 'approval',
    id: randomUUID(),
    time: new Date(context.nowMs).toISOString(),
    request_id: context.requestId,
    event,
    approval_id: approval.id,
    agent: { client_id: binding.agent },
    user: { iss: binding.user.iss, sub: binding.user.sub },
    tool: { id: binding.tool, resource: approval.resource },
    scopes: binding.scopes,
    actions: approval.details.map((detail) => ({
      type: String(detail.type),
      action: Array.isArray(detail.actions) ? String(detail.actions[0]) : '',
      arguments_sha256: String(detail.arguments_sha256),
    })),
    details_sha256: binding.detailsDigest,
    ...(event === 'requested' ? { triggers: approval.triggers } : {}),
    ...(context.by !== undefined ? { by: context.by } : {}),
    ...(context.via !== undefined ? { via: context.via } : {}),
    ...(context.as !== undefined ? { as: context.as } : {}),
    ...(context.token !== undefined ? { token: context.token } : {}),
    ...(context.reason !== undefined ? { reason: context.reason } : {}),
    caller: { address: context.callerAddress },
  };
}
