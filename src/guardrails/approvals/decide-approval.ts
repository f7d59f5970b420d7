/**
 * The approval gate (issue 18), pure: over the catalog's tool, what the exchange would grant, the parsed
 * `authorization_details`, the approval the agent names (as the store holds it) and a clock. It fires only
 * where the catalog says: a scope marked `approval: required`, or an action whose type's rule matches
 * (always, or an amount above the threshold in its currency; a currency the rule does not list is gated).
 * Whatever the inputs, a gated exchange yields a token only for an approved, unexpired, unused approval
 * bound to the same agent, user, tool, scopes and canonical action (test/guardrails/approvals/*.property.test.ts).
 */
import type { Tool } from '../../domain/catalog.js';
import { deny, type Denial } from '../../exchange/reasons.js';
import type { ParsedAuthorizationDetails } from '../authorization-details/parse-authorization-details.js';
import { sameBinding, type Approval, type ApprovalBinding, type ApprovalTrigger } from './approval.js';

/** Every reason the catalog gives for a person to decide this exchange (empty: not gated). */
export function approvalTriggers(tool: Tool, grantedScopes: readonly string[], details: ParsedAuthorizationDetails | undefined): ApprovalTrigger[] {
  const triggers: ApprovalTrigger[] = [];
  for (const scope of grantedScopes) {
    if (tool.scopes.get(scope)?.approval === 'required') triggers.push({ kind: 'scope', scope });
  }
  for (const detail of details?.details ?? []) {
    const rule = tool.actionTypes?.get(detail.type)?.approval;
    if (rule === undefined) continue;
    if (rule.kind === 'always') {
      triggers.push({ kind: 'action', type: detail.type, action: detail.action, rule: 'always' });
      continue;
    }
    // A type with an amount rule declares an amount field; the parser only yields a detail with both or neither.
    if (detail.amountMinor === undefined || detail.currency === undefined) continue;
    const threshold = rule.thresholdsMinor.get(detail.currency);
    if (threshold !== undefined && detail.amountMinor <= threshold) continue;
    triggers.push({
      kind: 'action', type: detail.type, action: detail.action, rule: 'amount_above', amountMinor: detail.amountMinor, currency: detail.currency,
      ...(threshold !== undefined ? { thresholdMinor: threshold } : {}),
    });
  }
  return triggers;
}

/** The granted scopes whose tokens must name their action (`action_types.<type>.scopes`), when none is named. */
export function detailsRequiredFor(tool: Tool, grantedScopes: readonly string[], details: ParsedAuthorizationDetails | undefined): string | undefined {
  for (const scope of grantedScopes) {
    for (const type of tool.actionTypes?.values() ?? []) {
      if (!type.scopes.includes(scope)) continue;
      if (!details?.details.some((detail) => detail.type === type.name)) return scope;
    }
  }
  return undefined;
}

export interface ApprovalGateInput {
  readonly tool: Tool;
  /** What the exchange would grant after narrowing. */
  readonly grantedScopes: readonly string[];
  readonly details: ParsedAuthorizationDetails | undefined;
  readonly agent: string;
  readonly user: { readonly iss: string; readonly sub: string };
  /** The `approval_id` the agent sent, if any. */
  readonly approvalId?: string;
  /** That approval as the store holds it: null when it holds none under that id. */
  readonly approval?: Approval | null;
  readonly nowMs: number;
}

export type ApprovalGateOutcome =
  | { readonly outcome: 'not_gated' }
  /** Gated, no approval named: open one (its binding and triggers here). */
  | { readonly outcome: 'request'; readonly binding: ApprovalBinding; readonly triggers: readonly ApprovalTrigger[] }
  /** Gated, the named approval is still undecided: answer authorization_pending (or slow_down, by the pace). */
  | { readonly outcome: 'pending'; readonly approval: Approval }
  /** Approved: mint the single token for it (after claiming it in the store). */
  | { readonly outcome: 'approved'; readonly approval: Approval }
  | Denial;

export function bindingOf(input: Pick<ApprovalGateInput, 'agent' | 'user' | 'tool' | 'grantedScopes' | 'details'>): ApprovalBinding {
  return {
    agent: input.agent,
    user: { iss: input.user.iss, sub: input.user.sub },
    tool: input.tool.id,
    scopes: [...input.grantedScopes].sort(),
    // No details: the digest of nothing, so an approval for some action never matches an exchange naming none.
    detailsDigest: input.details?.digest ?? '',
  };
}

export function decideApproval(input: ApprovalGateInput): ApprovalGateOutcome {
  const { tool, grantedScopes, details } = input;
  const undescribed = detailsRequiredFor(tool, grantedScopes, details);
  if (undescribed !== undefined) {
    return deny('authorization_details_required', `scope ${undescribed} needs authorization_details describing the action`);
  }
  const triggers = approvalTriggers(tool, grantedScopes, details);
  if (triggers.length === 0) return { outcome: 'not_gated' };
  // An approval binds an exact action (issue 18): a gated scope with no action described cannot be approved.
  if (details === undefined) return deny('authorization_details_required', 'this exchange needs approval: describe the action with authorization_details');
  const binding = bindingOf(input);
  if (input.approvalId === undefined) return { outcome: 'request', binding, triggers };

  const { approval } = input;
  if (approval === undefined || approval === null || approval.id !== input.approvalId) return deny('approval_unknown', 'approval_id is unknown');
  if (!sameBinding(approval.binding, binding)) {
    return deny('approval_mismatch', 'the approval was given for another agent, user, tool, scope set or action');
  }
  if (approval.status === 'rejected') return deny('approval_rejected', 'the approver rejected this request');
  if (approval.status === 'minted') return deny('approval_used', 'the token for this approval has already been issued');
  if (input.nowMs >= approval.expiresAtMs) return deny('approval_expired', 'the approval request has lapsed');
  if (approval.status === 'pending') return { outcome: 'pending', approval };
  return { outcome: 'approved', approval };
}
