/**
 * Plain data that flows through one token exchange: the parsed request, the validated subject,
 * and the decision. The decision core (src/exchange/) is pure code over these types and a clock.
 */
import type { Tool } from './catalog.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

export const TOKEN_TYPE = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  refreshToken: 'urn:ietf:params:oauth:token-type:refresh_token',
} as const;

/** Token types the broker accepts as subject_token_type / actor_token_type. */
export type AcceptedTokenType = typeof TOKEN_TYPE.accessToken | typeof TOKEN_TYPE.jwt;
/** Token types a client may ask for with requested_token_type. */
export type IssuedTokenType = typeof TOKEN_TYPE.accessToken | typeof TOKEN_TYPE.jwt;

/** The token request's parameters as oidc-provider hands them over (repeats only for `resource`/`audience`). */
export type RawParams = Readonly<Record<string, string | readonly string[] | undefined>>;

/** A well-formed token-exchange request (RFC 8693 §2.1), after `parseExchangeRequest`. */
export interface ExchangeRequest {
  readonly subjectToken: string;
  readonly subjectTokenType: AcceptedTokenType;
  readonly actorToken?: string;
  readonly actorTokenType?: AcceptedTokenType;
  /** Every `resource` value, as sent (at most one is acceptable; `resolveTool` decides). */
  readonly resources: readonly string[];
  /** Every `audience` value, as sent. */
  readonly audiences: readonly string[];
  /** Requested scopes: split on single spaces, duplicates collapsed, order kept. Empty when `scope` was omitted. */
  readonly scopes: readonly string[];
  readonly requestedTokenType: IssuedTokenType;
}

/** One link of an `act` chain (RFC 8693 §4.1): identity claims only, earlier actors nested inside. */
export interface ActClaim {
  readonly sub: string;
  readonly iss?: string;
  readonly client_id?: string;
  readonly act?: ActClaim;
}

/** RFC 8693 §4.4: who may act for the subject. */
export interface MayActClaim {
  readonly sub?: string;
  readonly iss?: string;
}

/** The user's token after signature, issuer, audience, type and time checks (src/subject-token/). */
export interface SubjectClaims {
  readonly iss: string;
  readonly sub: string;
  /** Seconds since the epoch. Always present: tokens without `exp` are rejected before this point. */
  readonly exp: number;
  readonly iat?: number;
  /** The user's scopes, from the issuer's configured scope claim. Empty if the token carries none. */
  readonly scopes: readonly string[];
  /** An `act` chain the subject token already carries (raw, validated by the decision core). */
  readonly act?: unknown;
  /** `may_act`, if the token carries one (raw, validated by the decision core). */
  readonly mayAct?: unknown;
  /** The token's `cnf` (RFC 7800), if it is bound to a key: only its holder may exchange it. */
  readonly confirmation?: Confirmation;
  /** SHA-256 fingerprint of the token (base64url), for attribution. Never the token. */
  readonly fingerprint: string;
}

/**
 * An incoming token's proof-of-possession binding (`cnf`): a DPoP key thumbprint (RFC 9449 §6), or a
 * binding the broker cannot check (mTLS `x5t#S256`, a raw `jwk`, anything else), named for the record.
 */
export type Confirmation = { readonly jkt: string } | { readonly unsupported: string };

/** A validated actor_token (the agent's own workload identity). */
export interface ActorClaims {
  readonly iss: string;
  readonly sub: string;
  readonly exp: number;
  readonly confirmation?: Confirmation;
  readonly fingerprint: string;
}

export type DroppedScopeReason =
  | 'not_in_catalog'
  | 'not_allowed_for_agent'
  | 'not_justified_by_user'
  /** Issue 18: the agent is in the read_only rollout stage and the scope is not a read scope. */
  | 'stage_read_only';

export interface ScopeOutcome {
  readonly requested: readonly string[];
  readonly granted: readonly string[];
  readonly dropped: readonly { readonly scope: string; readonly reason: DroppedScopeReason }[];
}

export interface Grant {
  readonly decision: 'granted';
  readonly tool: Tool;
  readonly subject: { readonly iss: string; readonly sub: string };
  /** The new chain: the current agent outermost, any earlier chain nested inside. */
  readonly act: ActClaim;
  readonly scopes: ScopeOutcome;
  /** Seconds since the epoch. */
  readonly iat: number;
  readonly exp: number;
  /** Which bound set `exp` (for attribution): the smallest of these wins. */
  readonly lifetimeBoundBy: 'tool_max_ttl' | 'agent_max_ttl' | 'subject_token_exp' | 'time_window_end'
    /** Issue 18: an approved, single-use token lives at most a minute. */
    | 'approval_single_use';
  readonly issuedTokenType: IssuedTokenType;
  /** Issue 18: the canonical RFC 9396 authorization_details the token carries (also in the response, §7). */
  readonly authorizationDetails?: readonly Readonly<Record<string, unknown>>[];
}
