import type { ToolUpstream } from '../upstream/upstream-config.js';

/**
 * The scope catalog, as security teams write it in `scopes/*.yaml` (one tool per file),
 * after validation. Plain data: the decision core reads it, nothing here does I/O.
 */

export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type Risk = (typeof RISK_LEVELS)[number];

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface ToolScope {
  /** The scope string exactly as it appears in tokens (case-sensitive). */
  readonly name: string;
  readonly description: string;
  readonly risk: Risk;
  /**
   * User scopes, any one of which justifies granting this tool scope.
   * Never empty: a tool scope nothing in the user's token can justify is never granted.
   */
  readonly justifiedBy: readonly string[];
  /**
   * Issue 18 (rollout stages): `read` scopes are the only ones an agent in the `read_only` stage gets, and
   * the ones a `supervised` agent gets without approval. Absent counts as write (fail closed).
   */
  readonly access?: 'read' | 'write';
  /** Issue 18: `approval: required` in the catalog: no token with this scope without a person's approval. */
  readonly approval?: 'required';
}

/**
 * A recurring window during which a tool may be used, in one IANA time zone.
 * `from` is inclusive and `to` exclusive, both "HH:MM" (24 h). `to` <= `from` means the
 * window runs past midnight into the next day (the day listed is the day it starts).
 */
export interface TimeWindow {
  readonly days: readonly Weekday[];
  readonly from: string;
  readonly to: string;
  readonly timeZone: string;
}

export interface Tool {
  /** Short stable id, e.g. "crm". Appears in minted tokens as `tool`. */
  readonly id: string;
  /** The registered resource identifier (RFC 8707), in canonical form. Minted tokens carry it as `aud`. */
  readonly resource: string;
  readonly description: string;
  readonly scopes: ReadonlyMap<string, ToolScope>;
  /** Upper bound on the lifetime of any token minted for this tool. */
  readonly maxTtlSeconds: number;
  /** Empty: the tool may be used at any time. Otherwise only inside one of these windows. */
  readonly timeWindows: readonly TimeWindow[];
  /** Where it was loaded from, for error messages. */
  readonly source: string;
  /** The SaaS this tool fronts (issue 17): a tool identity may obtain the user's credential there. */
  readonly upstream?: ToolUpstream;
  /** Issue 18: the RFC 9396 action types agents may describe in `authorization_details` (empty map: none). */
  readonly actionTypes?: ReadonlyMap<string, ActionType>;
  /** Issue 18: who approves gated exchanges for this tool, and how long a request waits. */
  readonly approval?: ToolApprovalPolicy;
}

// ---- Guardrails (issue 18): action types, approval rules, approvers -------------------------------------

/**
 * Typed fields an action type declares. `amount` is a decimal string in the currency's major unit ("1500.00"),
 * carried as integer minor units; `currency` an ISO 4217 code. An action type with an amount has a currency.
 */
export const ACTION_FIELD_TYPES = ['string', 'integer', 'boolean', 'amount', 'currency'] as const;
export type ActionFieldType = (typeof ACTION_FIELD_TYPES)[number];

export interface ActionField {
  readonly name: string;
  readonly type: ActionFieldType;
  readonly required: boolean;
  /** For strings: the longest value accepted (default 256). */
  readonly maxLength?: number;
}

/**
 * When an action of this type needs approval: always, or when its amount is above a threshold in its currency
 * (integer minor units by currency). An amount in a currency the rule does not list needs approval (fail safe).
 */
export type ActionApprovalRule =
  | { readonly kind: 'always' }
  | { readonly kind: 'amount_above'; readonly thresholdsMinor: ReadonlyMap<string, number> };

export interface ActionType {
  /** RFC 9396 §2 `type`. */
  readonly name: string;
  /** The tool's operation names of this type (RFC 9396 §2.2 `actions`). */
  readonly actions: readonly string[];
  readonly fields: ReadonlyMap<string, ActionField>;
  readonly approval?: ActionApprovalRule;
  /**
   * Tool scopes whose tokens must describe an action (of any type listing the scope): without this, an agent
   * could leave `authorization_details` out and get a token no approval rule ever saw.
   */
  readonly scopes: readonly string[];
}

export interface ToolApprovalPolicy {
  /** Whether the user on whose behalf the agent acts may approve. */
  readonly user: boolean;
  /** Approver role -> the admin key ids that hold it, for this tool. */
  readonly roles: ReadonlyMap<string, readonly string[]>;
  /** How long an approval request waits before it lapses (`expired_token`). */
  readonly lapseSeconds: number;
  /** The catalog set no `expires_in`: the broker's `approvals.default_lifetime` applies when it has one. */
  readonly lapseDefaulted?: true;
  /** Where the signed approval notification is POSTed (a Slack-compatible JSON payload), if anywhere. */
  readonly notifyUrl?: string;
}

export interface Catalog {
  /** By tool id. */
  readonly tools: ReadonlyMap<string, Tool>;
  /** By canonical resource identifier (see `canonicalResource`). */
  readonly byResource: ReadonlyMap<string, Tool>;
}
