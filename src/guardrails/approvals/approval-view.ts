/** How approvers see an approval (admin API, CLI, decision page), and who may decide it. Pure. */
import type { Approval } from './approval.js';
import { describeTrigger } from './describe-approval.js';

export function approvalView(approval: Approval, nowMs: number): Record<string, unknown> {
  const lapsed = approval.status !== 'rejected' && approval.status !== 'minted' && nowMs >= approval.expiresAtMs;
  return {
    id: approval.id,
    status: lapsed ? 'expired' : approval.status,
    agent: approval.binding.agent,
    user: approval.binding.user,
    tool: approval.binding.tool,
    resource: approval.resource,
    scopes: approval.binding.scopes,
    authorization_details: approval.details,
    details_sha256: approval.binding.detailsDigest,
    why: approval.triggers.map(describeTrigger),
    approvers: { user: approval.approvers.user, roles: Object.keys(approval.approvers.roles) },
    created_at: new Date(approval.createdAtMs).toISOString(),
    expires_at: new Date(approval.expiresAtMs).toISOString(),
    ...(approval.decision ? { decision: { by: approval.decision.by, via: approval.decision.via, as: approval.decision.as, at: new Date(approval.decision.atMs).toISOString() } } : {}),
    ...(approval.mintedJti ? { minted_jti: approval.mintedJti } : {}),
    ...(approval.used ? { used: { at: new Date(approval.used.atMs).toISOString(), by: approval.used.by } } : {}),
  };
}

/** The approver role an admin key holds for this approval (the first that lists it), or undefined. */
export function approverRoleOf(approval: Approval, adminKeyId: string): string | undefined {
  return Object.entries(approval.approvers.roles).find(([, ids]) => ids.includes(adminKeyId))?.[0];
}

/** Who a decision link speaks for: whoever the notification reached, i.e. the approvers it named. */
export function linkApprovers(approval: Approval): string {
  return [...(approval.approvers.user ? ['user'] : []), ...Object.keys(approval.approvers.roles).map((role) => `role:${role}`)].join('|');
}
