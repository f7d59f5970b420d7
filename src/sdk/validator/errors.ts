/** Why a request's token was refused, as RFC 6750 describes it to the caller. */
export type ValidationErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable';

export class TokenValidationError extends Error {
  override readonly name = 'TokenValidationError';
  constructor(
    readonly status: 401 | 403 | 503,
    readonly code: ValidationErrorCode,
    readonly description: string,
    /** For insufficient_scope: the scope(s) the request needed. */
    readonly scope?: string,
  ) {
    super(`${code}: ${description}`);
  }
}

/** The RFC 6750 §3 challenge for a refusal (no error attributes when no token was sent at all). */
export function wwwAuthenticate(err: TokenValidationError | undefined, opts: { realm?: string; resourceMetadata?: string } = {}): string {
  const parts = [`realm="${opts.realm ?? 'tool'}"`];
  if (err && !(err.code === 'invalid_request' && err.description === 'no token')) {
    parts.push(`error="${err.code}"`, `error_description="${err.description.replace(/["\\]/gu, '')}"`);
    if (err.scope) parts.push(`scope="${err.scope}"`);
  }
  if (opts.resourceMetadata) parts.push(`resource_metadata="${opts.resourceMetadata}"`);
  return `Bearer ${parts.join(', ')}`;
}
