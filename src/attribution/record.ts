/**
 * One attribution record per decision, granted or denied: which person, which agent, which tool, which
 * scopes, why, when. Never a token: only a SHA-256 fingerprint of the subject/actor token.
 * Schema version 1; fields are only ever added, never renamed (auditors query them months later).
 */
import type { AdminActionRecord } from '../admin/admin-record.js';
import type { DroppedScopeReason } from '../domain/exchange.js';
import type { AuthenticationFailuresRecord } from '../auth/failure-ledger.js';
import type { ApprovalRecord } from '../guardrails/approvals/approval-record.js';

export const RECORD_SCHEMA_VERSION = 1;

export interface ExchangeRecord {
  readonly v: typeof RECORD_SCHEMA_VERSION;
  readonly type: 'token_exchange';
  /** Unique record id. */
  readonly id: string;
  /** Server clock, ISO 8601 UTC. */
  readonly time: string;
  readonly request_id: string;
  /** W3C trace id, when the caller sent a valid `traceparent`. */
  readonly trace_id?: string;
  readonly decision: 'granted' | 'denied';
  /** Stable reason code: `granted`, or a DenialReason. */
  readonly reason: string;
  /** The OAuth error returned, for denials. */
  readonly error?: string;
  readonly agent: { readonly client_id: string | null; readonly authenticated: boolean };
  readonly user?: { readonly iss: string; readonly sub: string };
  /** The delegation chain of the issued token, outermost (current agent) first. */
  readonly actors?: readonly string[];
  readonly tool?: { readonly id: string; readonly resource: string };
  readonly scopes?: {
    readonly requested: readonly string[];
    readonly granted: readonly string[];
    readonly dropped: readonly { readonly scope: string; readonly reason: DroppedScopeReason }[];
  };
  /** `dpop_jkt`: the DPoP key thumbprint the token is bound to (its `cnf.jkt`), for DPoP-bound tokens. */
  readonly token?: { readonly jti: string; readonly exp: number; readonly lifetime_bound_by: string; readonly dpop_jkt?: string };
  readonly subject_token_sha256?: string;
  readonly actor_token_sha256?: string;
  readonly caller: { readonly address: string };
  /**
   * Issue 17: an onward exchange (a tool identity obtaining the user's upstream credential). `subject_jti`
   * links to the record of the exchange that minted the presented token; `credential_sha256` is a fingerprint,
   * never the credential; `actors` is the grown chain (the tool identity, then the agent).
   */
  readonly onward?: {
    readonly upstream?: string;
    readonly connector?: string;
    readonly subject_jti?: string;
    readonly upstream_scopes?: readonly string[];
    readonly cached?: boolean;
    readonly credential_sha256?: string;
    readonly actors?: readonly string[];
    /** Who received the credential: the tool identity, or the agent itself (`deliver_to_agent: true`). */
    readonly delivered_to?: 'tool' | 'agent';
  };
  /** Issue 18: the agent's rollout stage, when it is not `autonomous`. */
  readonly stage?: string;
  /** Issue 18: the budget that refused the exchange (`reason: budget_exceeded`): which, what, how much. */
  readonly budget?: { readonly name: string; readonly metric: string; readonly limit: number; readonly used: number; readonly requested: number };
}

/**
 * Token requests refused before any agent was authenticated, from one caller address over one interval:
 * one record with the counts instead of one synced line each (a flood cannot fill or stall the log).
 * `time` is when the interval was closed; `first`/`last` bound the requests it counts.
 */
export interface AggregateDenialRecord {
  readonly v: typeof RECORD_SCHEMA_VERSION;
  readonly type: 'token_exchange_aggregate';
  readonly id: string;
  readonly time: string;
  readonly decision: 'denied';
  readonly agent: { readonly client_id: null; readonly authenticated: false };
  /** `*` for the addresses beyond the per-interval bound, counted together. */
  readonly caller: { readonly address: string };
  readonly aggregate: {
    readonly count: number;
    /** Reason code -> requests. */
    readonly reasons: Readonly<Record<string, number>>;
    /** Registered client ids the requests named but did not authenticate as -> requests. */
    readonly clients?: Readonly<Record<string, number>>;
    readonly first: string;
    readonly last: string;
  };
}

/** Every record type in the attribution stream. */
export type AttributionRecord = ExchangeRecord | AdminActionRecord | AggregateDenialRecord | AuthenticationFailuresRecord
  // Issue 18: each step of a human approval (src/guardrails/approvals/approval-record.ts).
  | ApprovalRecord;

export function isExchangeRecord(record: AttributionRecord): record is ExchangeRecord {
  return record.type === 'token_exchange';
}
