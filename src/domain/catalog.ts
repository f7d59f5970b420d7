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
}

export interface Catalog {
  /** By tool id. */
  readonly tools: ReadonlyMap<string, Tool>;
  /** By canonical resource identifier (see `canonicalResource`). */
  readonly byResource: ReadonlyMap<string, Tool>;
}
