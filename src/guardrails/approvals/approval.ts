/**
 * An approval request as every replica stores it (issue 18): what the agent asked, for whom, why it was
 * gated, who may decide, and where it stands. Plain data; the stores (memory, Redis) hold exactly this.
 */
import type { CanonicalDetail } from '../authorization-details/parse-authorization-details.js';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'minted';

/** What an approval binds: a later exchange must match every member to receive the token. */
export interface ApprovalBinding {
  readonly agent: string;
  readonly user: { readonly iss: string; readonly sub: string };
  readonly tool: string;
  /** The scopes the exchange would grant, sorted. */
  readonly scopes: readonly string[];
  /** SHA-256 of the canonical authorization_details (parse-authorization-details.ts `detailsDigest`). */
  readonly detailsDigest: string;
}

/** Why the gate fired: each scope or action the catalog marks. */
export type ApprovalTrigger =
  | { readonly kind: 'scope'; readonly scope: string }
  | { readonly kind: 'action'; readonly type: string; readonly action: string; readonly rule: 'always' }
  | { readonly kind: 'action'; readonly type: string; readonly action: string; readonly rule: 'amount_above'; readonly amountMinor: number; readonly currency: string; readonly thresholdMinor?: number };

export interface ApprovalRequest {
  readonly id: string;
  readonly binding: ApprovalBinding;
  readonly resource: string;
  /** The canonical authorization_details the approver sees and the token will carry. */
  readonly details: readonly CanonicalDetail[];
  readonly triggers: readonly ApprovalTrigger[];
  /** Who may decide: the user (`user`), and/or holders of these roles (role -> admin key ids). */
  readonly approvers: { readonly user: boolean; readonly roles: Readonly<Record<string, readonly string[]>> };
  readonly createdAtMs: number;
  /** After this, undecided (or approved but never fetched) requests answer `expired_token`. */
  readonly expiresAtMs: number;
  readonly requestId: string;
}

export interface ApprovalDecisionMade {
  readonly by: string;
  /** `admin_api`, `cli` (the admin API, as the CLI reports it), or `link` (the signed link in the notification). */
  readonly via: string;
  readonly atMs: number;
  /** The role the approver held, or `user`. */
  readonly as: string;
}

export interface Approval extends ApprovalRequest {
  readonly status: ApprovalStatus;
  /** Seconds the agent waits between polls (CIBA §7.3 `interval`); grows by 5 with each `slow_down`. */
  readonly intervalSeconds: number;
  /** The agent may poll again from this instant without `slow_down`. */
  readonly nextPollAtMs: number;
  readonly decision?: ApprovalDecisionMade;
  /** The `jti` of the single token minted for it. */
  readonly mintedJti?: string;
  /** The tool's first report that it accepted that token (POST /approvals/<id>/used): when, and which validator. */
  readonly used?: { readonly atMs: number; readonly by: string };
}

/** CIBA Core §7.3: the default polling interval, seconds. */
export const DEFAULT_POLL_INTERVAL_SECONDS = 5;
/** RFC 8628 §3.5 / CIBA §11: every `slow_down` adds 5 seconds to the interval. */
export const SLOW_DOWN_STEP_SECONDS = 5;
/** The approved token's lifetime bound: it is for one call, now. */
export const APPROVED_TOKEN_MAX_TTL_SECONDS = 60;

export function sameBinding(a: ApprovalBinding, b: ApprovalBinding): boolean {
  return a.agent === b.agent && a.user.iss === b.user.iss && a.user.sub === b.user.sub && a.tool === b.tool
    && a.detailsDigest === b.detailsDigest && a.scopes.length === b.scopes.length && a.scopes.every((scope, i) => scope === b.scopes[i]);
}
