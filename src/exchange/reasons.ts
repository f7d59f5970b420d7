/**
 * Every reason the broker can refuse an exchange, each with a stable code (it appears in attribution
 * records and metrics, so codes are never renamed) and the OAuth error it surfaces as.
 * RFC 8693 §2.2.2: an invalid or unacceptable subject_token / actor_token is `invalid_request`.
 */

import type { ScopeOutcome } from '../domain/exchange.js';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  /** RFC 9449 §5: the DPoP proof is missing (for an agent that must use DPoP), invalid or replayed. */
  | 'invalid_dpop_proof'
  | 'temporarily_unavailable'
  | 'server_error'
  // Issue 18 (approvals). RFC 9396 §6.2: authorization_details the server cannot accept.
  | 'invalid_authorization_details'
  // CIBA Core §11 / RFC 8628 §3.5: the polling answers while a person decides.
  | 'authorization_pending'
  | 'slow_down'
  /**
   * Also the budgets' and rollout stages' refusal: RFC 6749 §4.1.2.1 defines it ("the resource owner or
   * authorization server denied the request"); a budget or a stage is a person's decision, nothing in the
   * request is wrong, and retrying will not help until a person acts (unlike `temporarily_unavailable`).
   * One status for every `access_denied` at /token: 400, as RFC 6749 §5.2 gives every token-endpoint error
   * but invalid_client, and as CIBA Core §11 answers a rejected approval (README "Guardrails", status policy).
   */
  | 'access_denied'
  | 'expired_token';

export const DENIAL_REASONS = {
  // request framing and parameters
  request_malformed: 'invalid_request',
  request_method: 'invalid_request',
  request_content_type: 'invalid_request',
  request_query_parameters: 'invalid_request',
  request_too_large: 'invalid_request',
  client_authentication_missing: 'invalid_client',
  client_authentication_ambiguous: 'invalid_request',
  subject_token_missing: 'invalid_request',
  subject_token_type_unsupported: 'invalid_request',
  actor_token_type_mismatch: 'invalid_request',
  actor_token_type_unsupported: 'invalid_request',
  requested_token_type_unsupported: 'invalid_request',
  token_too_large: 'invalid_request',
  // the agent
  client_authentication_failed: 'invalid_client',
  agent_unknown: 'invalid_client',
  /** Too many failed client authentications from this address or for this client id (429, Retry-After). */
  client_authentication_throttled: 'temporarily_unavailable',
  /** The agent-secret hash gate is full (503, Retry-After): nothing was checked. */
  client_authentication_busy: 'temporarily_unavailable',
  /**
   * Product rule: a suspended agent is still who it says it is (its credentials verify, and a person or the
   * kill switch may reinstate it), it is just not authorized right now: RFC 6749 §5.2 `unauthorized_client`.
   */
  agent_suspended: 'unauthorized_client',
  /** RFC 6749 §5.2: a revoked identity's credentials no longer authenticate it (401). */
  agent_revoked: 'invalid_client',
  /** The agent's registration does not list this grant (`grant_types`): RFC 6749 §5.2. */
  agent_not_allowed_grant: 'unauthorized_client',
  /** RFC 8693 §2.2.2: the server is unwilling to issue a token for that target (a known tool, not this agent's). */
  agent_not_allowed_tool: 'invalid_target',
  unsupported_grant_type: 'unsupported_grant_type',
  // proof of possession (RFC 9449)
  dpop_proof_required: 'invalid_dpop_proof',
  dpop_proof_invalid: 'invalid_dpop_proof',
  dpop_proof_replayed: 'invalid_dpop_proof',
  // the target
  resource_missing: 'invalid_target',
  resource_invalid: 'invalid_target',
  resource_multiple: 'invalid_target',
  resource_unknown: 'invalid_target',
  audience_mismatch: 'invalid_target',
  // the subject token
  subject_token_invalid: 'invalid_request',
  subject_token_expired: 'invalid_request',
  subject_token_untrusted_issuer: 'invalid_request',
  subject_token_wrong_audience: 'invalid_request',
  subject_token_wrong_type: 'invalid_request',
  subject_token_no_subject: 'invalid_request',
  /** The subject token is bound to a key (`cnf`) in a way the broker cannot check (not `jkt`). */
  subject_token_binding_unsupported: 'invalid_request',
  /** The subject token is DPoP-bound (`cnf.jkt`) and the request's DPoP proof is missing or from another key. */
  subject_token_key_mismatch: 'invalid_dpop_proof',
  may_act_mismatch: 'invalid_request',
  // the actor token and the delegation chain
  actor_token_not_allowed: 'invalid_request',
  actor_token_invalid: 'invalid_request',
  actor_token_subject_mismatch: 'invalid_request',
  /** The actor token is DPoP-bound (`cnf.jkt`) and the request's DPoP proof is missing or from another key. */
  actor_token_key_mismatch: 'invalid_dpop_proof',
  act_chain_malformed: 'invalid_request',
  act_chain_too_deep: 'invalid_request',
  act_chain_repeated_actor: 'invalid_request',
  /** An earlier actor in the subject token's `act` chain is one of this broker's agents, and it is suspended. */
  act_chain_suspended_actor: 'invalid_request',
  /** An earlier actor in the subject token's `act` chain is one of this broker's agents, and it is revoked. */
  act_chain_revoked_actor: 'invalid_request',
  // policy
  outside_time_window: 'invalid_target',
  scope_missing: 'invalid_scope',
  scope_syntax: 'invalid_scope',
  scope_too_many: 'invalid_scope',
  scope_empty_after_narrowing: 'invalid_scope',
  lifetime_empty: 'invalid_request',
  rate_limited: 'temporarily_unavailable',
  /** Too many token requests from one caller address, counted before client authentication (429, Retry-After). */
  source_rate_limited: 'temporarily_unavailable',
  // the onward exchange (issue 17): a tool identity presents the broker token it received for its upstream
  /** A tool identity whose tool no longer declares an upstream in the catalog. */
  tool_identity_without_upstream: 'unauthorized_client',
  /** RFC 8693 §2.2.2: the broker token was minted for another tool than this tool identity's. */
  onward_subject_other_tool: 'invalid_request',
  /** The broker token falls under a revocation (its jti, an agent of its chain, its user or its tool). */
  onward_subject_revoked: 'invalid_request',
  /** The requested upstream belongs to another tool of the catalog. */
  upstream_not_owned: 'invalid_target',
  /** The requested upstream scopes exceed what the catalog maps the broker token's granted scopes to. */
  upstream_scope_widening: 'invalid_scope',
  /** The broker token's granted scopes map to no upstream scope. */
  upstream_scope_empty: 'invalid_scope',
  /** The broker token lacks the claim the catalog names to identify the user at the SaaS. */
  upstream_subject_missing: 'invalid_request',
  /** The SaaS authorization server refused (the user lacks the permission there): passed on, never retried. */
  upstream_refused: 'invalid_grant',
  /** The user has not connected this SaaS (vault connector): the description carries the URL to connect. */
  upstream_not_connected: 'invalid_grant',
  /** The SaaS authorization server is unreachable, slow past the bound, or answered nonsense: fail closed. */
  upstream_unavailable: 'temporarily_unavailable',
  /** An agent asked for an upstream credential itself, and the tool's catalog entry does not say `deliver_to_agent: true`. */
  upstream_agent_delivery_refused: 'unauthorized_client',
  /** An agent presented a broker token that was not minted for it (deliver_to_agent): never someone else's. */
  onward_subject_other_agent: 'invalid_request',
  // guardrails (issue 18): answered 403 (RFC 9110 §15.5.4: understood, refused), see REASON_STATUS
  /** A budget of the agent (exchanges per hour/day, or declared amount per currency per day) is spent. */
  budget_exceeded: 'access_denied',
  /** The agent is in the shadow stage: decided and recorded in full, answered with what would be granted, no token. */
  stage_shadow: 'access_denied',
  /** The agent is in the read_only stage and no read scope remains. */
  stage_read_only: 'invalid_scope',
  /** The agent is in the supervised stage and the grant holds write scopes: a person must approve first. */
  stage_approval_required: 'access_denied',
  // dependencies (fail closed)
  issuer_unavailable: 'temporarily_unavailable',
  attribution_unavailable: 'temporarily_unavailable',
  state_unavailable: 'temporarily_unavailable',
  internal_error: 'server_error',
  // guardrails: human approval bound to the exact action (issue 18, src/guardrails/approvals/)
  /** RFC 9396 §6.2: malformed, or not one of the tool's declared action types. */
  authorization_details_invalid: 'invalid_authorization_details',
  /** The catalog gates this exchange, and an approval binds an action: the agent must describe it. */
  authorization_details_required: 'invalid_authorization_details',
  /** Gated: an approval was requested (or is still undecided); the answer carries `approval_id` and `interval`. */
  approval_pending: 'authorization_pending',
  /** Polled again before `interval` passed: the interval grows by 5 s (RFC 8628 §3.5). */
  approval_slow_down: 'slow_down',
  approval_rejected: 'access_denied',
  /** Nobody decided within the lapse (default 10 minutes), or the approved token was not fetched within it. */
  approval_expired: 'expired_token',
  /** The `approval_id` names no approval this broker holds (CIBA §11: invalid_grant). */
  approval_unknown: 'invalid_grant',
  /** The approval was asked for another agent, user, tool, scope set or action. */
  approval_mismatch: 'invalid_grant',
  /** The approval's single token has already been minted. */
  approval_used: 'invalid_grant',
} as const satisfies Record<string, OAuthErrorCode>;

export type DenialReason = keyof typeof DENIAL_REASONS;

export interface Denial {
  readonly decision: 'denied';
  readonly reason: DenialReason;
  readonly error: OAuthErrorCode;
  /** ASCII, safe to return to the caller: never contains a token or a stack trace. */
  readonly description: string;
  /** For scope denials: what was requested and why each scope was dropped (recorded, never returned). */
  readonly scopes?: ScopeOutcome;
}

/** The HTTP status of each OAuth error code (RFC 6749 §5.2: 400 unless the client failed to authenticate). */
const ERROR_STATUS: Readonly<Record<OAuthErrorCode, number>> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  invalid_dpop_proof: 400,
  temporarily_unavailable: 503,
  server_error: 500,
  invalid_authorization_details: 400,
  authorization_pending: 400,
  slow_down: 400,
  access_denied: 400,
  expired_token: 400,
};

/**
 * Reasons whose status differs from their error code's: rate limits answer 429 (RFC 6585) with `Retry-After`;
 * a body over the limit answers 413 (RFC 9110 §15.5.14).
 */
const REASON_STATUS: Partial<Record<DenialReason, number>> = {
  request_too_large: 413,
  rate_limited: 429,
  source_rate_limited: 429,
  client_authentication_throttled: 429,
};

/** The HTTP status a denial is answered with: the one place it is chosen. */
export function denialStatus(reason: DenialReason): number {
  return REASON_STATUS[reason] ?? ERROR_STATUS[DENIAL_REASONS[reason]];
}

export function deny(reason: DenialReason, description: string): Denial {
  return { decision: 'denied', reason, error: DENIAL_REASONS[reason], description };
}

export function isDenial(value: unknown): value is Denial {
  return typeof value === 'object' && value !== null && (value as { decision?: unknown }).decision === 'denied';
}
