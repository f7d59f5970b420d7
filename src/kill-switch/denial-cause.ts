/**
 * Whose doing a refused exchange was: the kill switch suspends an agent for every user and revokes its
 * tokens, so it may count only what the agent itself did. A user's expired token, an identity-provider
 * outage, an overloaded broker or a tool's closed time window say nothing about the agent.
 *
 * The table is a `Record` over the closed set of denial reasons (src/exchange/reasons.ts): a new reason
 * does not compile until someone decides here whose it is.
 */
import type { DroppedScopeReason } from '../domain/exchange.js';
import type { DenialReason } from '../exchange/reasons.js';

/**
 * - `agent`: what the agent sent or did (its request, its proofs, its tool choice, its delegation chain).
 * - `user`: the user's token (expired, forged or foreign, about to expire): tracked per (agent, user), never
 *   against the agent.
 * - `scope`: an empty narrowing: whose depends on why each scope was dropped (DROPPED_SCOPE_CAUSE).
 * - `schedule`: the tool's time windows (the clock, not the agent).
 * - `infrastructure`: a dependency failed (issuer, shared state, attribution log, a bug): fail closed, count nothing.
 * - `enforcement`: the broker's own limits and suspensions (counted by their own trigger, if at all).
 * - `unauthenticated`: no agent is known yet; nothing to attribute to an agent (throttled per source instead).
 */
export type DenialCause = 'agent' | 'user' | 'scope' | 'schedule' | 'infrastructure' | 'enforcement' | 'unauthenticated';

export const DENIAL_CAUSE = {
  // Framing: checked before client authentication, so these records rarely name an agent; when one does,
  // the agent sent the malformed request.
  request_malformed: 'agent',
  request_method: 'agent',
  request_content_type: 'agent',
  request_query_parameters: 'agent',
  request_too_large: 'agent',
  client_authentication_missing: 'unauthenticated',
  client_authentication_ambiguous: 'agent',
  client_authentication_failed: 'unauthenticated',
  // Refused before any secret was checked (failure throttle, hash gate): no agent is authenticated.
  client_authentication_throttled: 'unauthenticated',
  client_authentication_busy: 'unauthenticated',
  agent_unknown: 'unauthenticated',
  // The agent chose these parameters; a missing or mistyped subject token is its request, not the user's token.
  subject_token_missing: 'agent',
  subject_token_type_unsupported: 'agent',
  actor_token_type_mismatch: 'agent',
  actor_token_type_unsupported: 'agent',
  requested_token_type_unsupported: 'agent',
  token_too_large: 'agent',
  agent_suspended: 'enforcement',
  agent_revoked: 'enforcement',
  agent_not_allowed_grant: 'agent',
  agent_not_allowed_tool: 'agent',
  unsupported_grant_type: 'agent',
  dpop_proof_required: 'agent',
  dpop_proof_invalid: 'agent',
  dpop_proof_replayed: 'agent',
  resource_missing: 'agent',
  resource_invalid: 'agent',
  resource_multiple: 'agent',
  resource_unknown: 'agent',
  audience_mismatch: 'agent',
  // The user's token as its issuer made it (or failed to): the user's, not the agent's.
  subject_token_invalid: 'user',
  subject_token_expired: 'user',
  subject_token_untrusted_issuer: 'user',
  subject_token_wrong_audience: 'user',
  subject_token_wrong_type: 'user',
  subject_token_no_subject: 'user',
  subject_token_binding_unsupported: 'user',
  // A bound user token without a proof from its key: the agent holds a token it cannot prove it may use.
  subject_token_key_mismatch: 'agent',
  // The user's token names who may act for the user, and it is not this agent (RFC 8693 §4.4).
  may_act_mismatch: 'agent',
  actor_token_not_allowed: 'agent',
  actor_token_invalid: 'agent',
  actor_token_subject_mismatch: 'agent',
  actor_token_key_mismatch: 'agent',
  // The `act` claim inside the user's token is unparseable: the issuer's token, not the agent.
  act_chain_malformed: 'user',
  // Too deep or a repeated actor: a delegation loop, which is what agents re-exchanging tokens build.
  act_chain_too_deep: 'agent',
  act_chain_repeated_actor: 'agent',
  // An earlier actor in the chain was suspended or revoked by a person or the kill switch: the presenting
  // agent relayed a chain it could not know was dead; the earlier actor's own suspension already covers it.
  act_chain_suspended_actor: 'enforcement',
  act_chain_revoked_actor: 'enforcement',
  outside_time_window: 'schedule',
  scope_missing: 'agent',
  scope_syntax: 'agent',
  scope_too_many: 'agent',
  scope_empty_after_narrowing: 'scope',
  // The user's token expires before anything could be minted.
  lifetime_empty: 'user',
  rate_limited: 'enforcement',
  source_rate_limited: 'unauthenticated',
  // The onward exchange (issue 17): the caller is a tool identity. What it asks is its doing; what the user's
  // broker token or the SaaS says about the user is the user's; a revocation already acted; a SaaS outage counts nothing.
  tool_identity_without_upstream: 'enforcement',
  onward_subject_other_tool: 'agent',
  onward_subject_revoked: 'enforcement',
  upstream_not_owned: 'agent',
  upstream_scope_widening: 'agent',
  upstream_scope_empty: 'user',
  upstream_subject_missing: 'user',
  upstream_refused: 'user',
  upstream_not_connected: 'user',
  upstream_unavailable: 'infrastructure',
  upstream_agent_delivery_refused: 'agent',
  onward_subject_other_agent: 'agent',
  issuer_unavailable: 'infrastructure',
  attribution_unavailable: 'infrastructure',
  state_unavailable: 'infrastructure',
  internal_error: 'infrastructure',
  // Issue 18 guardrails: a person's budget or rollout stage refused; counted by their own records, not here.
  budget_exceeded: 'enforcement',
  stage_shadow: 'enforcement',
  stage_read_only: 'enforcement',
  stage_approval_required: 'enforcement',
  // Approvals (issue 18): the agent's description of its action, and its use of approval ids, are its doing;
  // waiting for a person, a person's refusal, a lapse and polling pace are the approval process (not counted).
  authorization_details_invalid: 'agent',
  authorization_details_required: 'agent',
  approval_unknown: 'agent',
  approval_mismatch: 'agent',
  approval_used: 'agent',
  approval_pending: 'enforcement',
  approval_slow_down: 'enforcement',
  approval_rejected: 'enforcement',
  approval_expired: 'enforcement',
} as const satisfies Record<DenialReason, DenialCause>;

/** Why one scope was dropped: asking beyond the catalog or the agent's registration is the agent's doing. */
export const DROPPED_SCOPE_CAUSE = {
  not_in_catalog: 'agent',
  not_allowed_for_agent: 'agent',
  not_justified_by_user: 'user',
  // Issue 18: dropped by the agent's rollout stage (a person's decision): never counted against the agent.
  stage_read_only: 'user',
} as const satisfies Record<DroppedScopeReason, 'agent' | 'user'>;

/** What one recorded exchange says about its agent, for the kill switch. */
export type ExchangeAttribution = 'granted' | DenialCause;

export interface ClassifiableRecord {
  readonly decision: 'granted' | 'denied';
  readonly reason: string;
  readonly scopes?: { readonly dropped: readonly { readonly reason: DroppedScopeReason }[] };
}

function isDenialReason(reason: string): reason is DenialReason {
  return Object.hasOwn(DENIAL_CAUSE, reason);
}

/**
 * Pure. A denial whose reason is not in the table (a record from another build) counts as the agent's:
 * the kill switch fails towards stopping an agent, never towards ignoring it. An empty narrowing is the
 * agent's as soon as one dropped scope was beyond the catalog or its registration; it is the user's only
 * when every requested scope was refused because the user cannot justify it.
 */
export function classifyExchange(record: ClassifiableRecord): ExchangeAttribution {
  if (record.decision === 'granted') return 'granted';
  if (!isDenialReason(record.reason)) return 'agent';
  const cause = DENIAL_CAUSE[record.reason];
  if (cause !== 'scope') return cause;
  const dropped = record.scopes?.dropped ?? [];
  if (dropped.length === 0) return 'agent';
  return dropped.some((d) => DROPPED_SCOPE_CAUSE[d.reason] === 'agent') ? 'agent' : 'user';
}
