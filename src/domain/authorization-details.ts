/**
 * RFC 9396 authorization details as an agent describes one action on the exchange (issue 18): the tool's
 * action name, a SHA-256 of the canonical arguments, and typed fields the catalog's rules read (amount,
 * currency). The parser and canonicaliser live in the guardrails; this is the plain data they agree on.
 */
export interface ActionDetail {
  /** RFC 9396 §2 `type`: the tool's declared action type, e.g. `payment`. */
  readonly type: string;
  /** The tool's action (operation) name, e.g. `create_payment`. */
  readonly action: string;
  /** base64url SHA-256 of the canonical JSON (RFC 8785) of the call's arguments. */
  readonly argumentsDigest: string;
  /** A decimal amount in the currency's minor units (integer), where the action type declares one. */
  readonly amountMinor?: number;
  /** ISO 4217 code, upper case. */
  readonly currency?: string;
  /** Other typed fields the action type declares, canonicalised. */
  readonly fields?: Readonly<Record<string, string | number | boolean>>;
}
