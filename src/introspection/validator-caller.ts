/**
 * Who called a validator endpoint (`/introspect`, `/revocations/feed`, `/revocations/stream`), as the caller
 * authenticator established it. The routes decide what this caller may see (least disclosure: a validator key
 * scoped to some tools introspects only those tools' tokens); the authenticator decides who the caller is.
 */
export interface ValidatorCaller {
  /** The validator or admin key id, or the client_id of an RFC 7662 caller using standard client authentication. */
  readonly id: string;
  readonly kind: 'validator_key' | 'admin_key' | 'client';
  /** Canonical resource identifiers whose tokens this caller may introspect; undefined: every resource. */
  readonly resources?: ReadonlySet<string>;
}

/** The request facts an authenticator may use: the Authorization header and, for form POSTs, the parameters. */
export interface ValidatorAuthRequest {
  readonly authorization: string | undefined;
  /** The parsed form body (`client_id`, `client_assertion`, ...) where the endpoint has one. */
  readonly form?: URLSearchParams;
  readonly callerAddress?: string;
}

export type ValidatorAuthenticator = (request: ValidatorAuthRequest) => Promise<ValidatorCaller | undefined>;
