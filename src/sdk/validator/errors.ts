/** Why a request's token was refused, as RFC 6750 (and RFC 9449 §7.1 for DPoP) describes it to the caller. */
export type ValidationErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable' | 'invalid_dpop_proof';

/** The authentication scheme the challenge names: `DPoP` whenever the client must (or tried to) use DPoP. */
export type ChallengeScheme = 'Bearer' | 'DPoP';

/** Raised in the tool's process by the validation SDK (RFC 6750 answers of the tool), not by the broker's HTTP surface. */
export class TokenValidationError extends Error {
  override readonly name = 'TokenValidationError';
  constructor(
    readonly status: 401 | 403 | 429 | 503,
    readonly code: ValidationErrorCode,
    readonly description: string,
    /** For insufficient_scope: the scope(s) the request needed. */
    readonly scope?: string,
    readonly scheme: ChallengeScheme = 'Bearer',
    /** For 429 and 503: when the request may succeed again (the `Retry-After` header), seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${code}: ${description}`);
  }
}

/**
 * The RFC 6750 §3 / RFC 9449 §7.1 challenge for a refusal (no error attributes when no token was sent at
 * all). A DPoP challenge lists the accepted proof algorithms (`algs`).
 */
export function wwwAuthenticate(
  err: TokenValidationError | undefined,
  opts: { realm?: string; resourceMetadata?: string; dpopAlgorithms?: readonly string[] } = {},
): string {
  const parts = [`realm="${opts.realm ?? 'tool'}"`];
  if (err && !(err.code === 'invalid_request' && err.description === 'no token')) {
    parts.push(`error="${err.code}"`, `error_description="${err.description.replace(/["\\]/gu, '')}"`);
    if (err.scope) parts.push(`scope="${err.scope}"`);
  }
  const scheme = err?.scheme ?? 'Bearer';
  if (scheme === 'DPoP' && opts.dpopAlgorithms && opts.dpopAlgorithms.length > 0) parts.push(`algs="${opts.dpopAlgorithms.join(' ')}"`);
  if (opts.resourceMetadata) parts.push(`resource_metadata="${opts.resourceMetadata}"`);
  return `${scheme} ${parts.join(', ')}`;
}
