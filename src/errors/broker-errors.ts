/**
 * The closed set of errors the broker answers outside the token exchange (whose refusals are the denial
 * reasons of src/exchange/reasons.ts): infrastructure failures, the admin API, the validator endpoints
 * (introspection, revocation feed), framing of the broker's own routes, and the catch-all.
 *
 * Each code is stable (it appears in logs and in tests; never renamed) and has one entry: the OAuth-style
 * `error` it is answered with (RFC 6749 §5.2 codes where one applies, RFC 6750 §3.1 for the bearer-key
 * admin API, otherwise a plain snake_case word), the HTTP status, and a description safe to return to any
 * caller. A more specific description may be given where it is raised, and must be just as safe: it names
 * what the caller sent or may do, never a token, a secret, an internal message or a stack trace.
 *
 * `BrokerError` carries one reason; the few classes that must stay recognisable by `instanceof`
 * (StateUnavailableError, AttributionUnavailableError, IssuerUnavailableError) are subclasses with a fixed code.
 * Errors that are not HTTP answers at all say so where they are defined: ConfigError (start-up),
 * StateOwnedByAnotherIssuerError (start-up), the SDK's ExchangeError and TokenValidationError (client side),
 * and the private control-flow classes of the JSON scanner and the feed snapshot.
 */

export interface BrokerErrorEntry {
  readonly error: string;
  readonly status: number;
  readonly description: string;
  /** Seconds a client should wait before retrying (`Retry-After`), where a retry can help. */
  readonly retryAfterSeconds?: number;
  /** The `WWW-Authenticate` challenge of an authentication failure (RFC 6750 §3, RFC 7235 §4.1). */
  readonly challenge?: string;
}

export const BROKER_ERRORS = {
  // dependencies: fail closed, the caller may retry
  state_unavailable: { error: 'temporarily_unavailable', status: 503, description: 'shared state is unavailable; try again', retryAfterSeconds: 1 },
  /** A change the Redis master took but fewer replicas acknowledged than `redis.replica_acks` requires. */
  replication_unconfirmed: { error: 'temporarily_unavailable', status: 503, description: 'the change is not yet held by enough replicas; repeat it' },
  attribution_unavailable: { error: 'temporarily_unavailable', status: 503, description: 'the action could not be recorded, so it was not taken; try again' },
  upstream_unavailable: { error: 'temporarily_unavailable', status: 503, description: 'an upstream server is unavailable; try again' },
  /** A capacity limit of the broker itself (feed subscriptions), not of one caller. */
  capacity_reached: { error: 'temporarily_unavailable', status: 503, description: 'the broker is at capacity; retry later', retryAfterSeconds: 5 },
  /** A per-caller limit (feed subscriptions per validator key). */
  caller_limit_reached: { error: 'temporarily_unavailable', status: 429, description: 'too many requests from this caller; retry later', retryAfterSeconds: 10 },
  // the request
  invalid_request: { error: 'invalid_request', status: 400, description: 'the request is malformed' },
  payload_too_large: { error: 'invalid_request', status: 413, description: 'the body is too large' },
  not_found: { error: 'not_found', status: 404, description: 'no such resource' },
  method_not_allowed: { error: 'invalid_request', status: 405, description: 'this method is not allowed here' },
  not_implemented: { error: 'not_implemented', status: 501, description: 'not available with this configuration' },
  // who is calling
  validator_unauthorized: { error: 'invalid_client', status: 401, description: 'a validator key is required', challenge: 'Bearer realm="validators"' },
  admin_unauthorized: { error: 'invalid_token', status: 401, description: 'a valid admin key is required', challenge: 'Bearer realm="admin"' },
  admin_forbidden: { error: 'insufficient_scope', status: 403, description: 'this admin key may not do this', challenge: 'Bearer realm="admin", error="insufficient_scope"' },
  // admin actions
  unknown_agent: { error: 'unknown_agent', status: 404, description: 'no such agent' },
  unknown_tool: { error: 'unknown_tool', status: 404, description: 'no such tool' },
  override_required: { error: 'override_required', status: 409, description: 'another operator or the kill switch made this change; repeat with override set to true' },
  // anything else: a fault of the broker, never explained to the caller
  server_error: { error: 'server_error', status: 500, description: 'internal error' },
} as const satisfies Record<string, BrokerErrorEntry>;

export type BrokerErrorReason = keyof typeof BROKER_ERRORS;

export interface BrokerErrorOptions extends ErrorOptions {
  /** A description more specific than the entry's, just as safe to return to the caller. */
  readonly description?: string;
  readonly retryAfterSeconds?: number;
}

/**
 * An error with a reason of the closed set. `message` is for logs (it may be internal); what the caller sees
 * is the entry's `error` and status, and `description` (the entry's unless a safe one was given).
 * Deliberately no `status`, `error` or `expose` property: Koa and oidc-provider read those by duck typing,
 * and an error of the model must not change how they treat an error that reaches them.
 */
export class BrokerError extends Error {
  override readonly name: string = 'BrokerError';
  /** The stable code (like a denial's reason). */
  readonly reason: BrokerErrorReason;
  readonly description: string;
  readonly retryAfterSeconds: number | undefined;

  constructor(reason: BrokerErrorReason, message?: string, options: BrokerErrorOptions = {}) {
    super(message ?? options.description ?? BROKER_ERRORS[reason].description, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    const entry: BrokerErrorEntry = BROKER_ERRORS[reason];
    this.description = options.description ?? entry.description;
    this.retryAfterSeconds = options.retryAfterSeconds ?? entry.retryAfterSeconds;
  }

  /** The OAuth error, HTTP status and challenge this error is answered with. */
  get entry(): BrokerErrorEntry {
    return BROKER_ERRORS[this.reason];
  }
}

/** `reason` with a caller-safe description (which is also the message): the common case on the broker's own routes. */
export function refuse(reason: BrokerErrorReason, description?: string): BrokerError {
  return new BrokerError(reason, description, description === undefined ? {} : { description });
}

export function isBrokerError(value: unknown): value is BrokerError {
  return value instanceof BrokerError;
}
