/** Koa integration: `authenticate(validator)` puts the validated token on `ctx.state.token`; `requireScope`. */
import type { Context, Next } from 'koa';
import { TokenValidationError, wwwAuthenticate } from './errors.js';
import type { TokenValidator, ValidatedToken } from './token-validator.js';

export interface KoaOptions { readonly realm?: string; readonly resourceMetadata?: string }

function refuse(ctx: Context, err: TokenValidationError, opts: KoaOptions & { dpopAlgorithms?: readonly string[] }): void {
  ctx.status = err.status;
  if (err.status !== 503 && err.status !== 429) ctx.set('WWW-Authenticate', wwwAuthenticate(err, opts));
  if (err.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(err.retryAfterSeconds));
  ctx.body = err.code === 'invalid_request' && err.description === 'no token'
    ? { error: 'invalid_token', error_description: 'an access token is required' }
    : { error: err.code, error_description: err.description };
}

/** Every value of the `DPoP` request header, from the raw header lines (Node would join repeated ones). */
function dpopValues(rawHeaders: readonly string[]): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === 'dpop') values.push(rawHeaders[i + 1] ?? '');
  }
  return values;
}

export function authenticate(validator: TokenValidator, opts: KoaOptions = {}) {
  const challenge = { ...opts, dpopAlgorithms: validator.dpopAlgorithms };
  return async function brokerToken(ctx: Context, next: Next): Promise<void> {
    // Only the Authorization header carries the token; a token in the query string is ignored.
    try {
      ctx.state.token = await validator.validate(ctx.get('authorization') || undefined, {
        method: ctx.method,
        // The URL as clients address this service: the configured public base URL + the path, or as received.
        url: validator.publicBaseUrl !== undefined ? ctx.originalUrl : ctx.href,
        dpop: dpopValues(ctx.req.rawHeaders),
      });
    } catch (err) {
      if (err instanceof TokenValidationError) {
        refuse(ctx, err, challenge);
        return;
      }
      throw err;
    }
    await next();
  };
}

export function requireScope(...scopes: string[]) {
  return async function scopeCheck(ctx: Context, next: Next): Promise<void> {
    const token = ctx.state.token as ValidatedToken | undefined;
    const missing = scopes.filter((s) => !token?.scopes.includes(s));
    if (!token || missing.length > 0) {
      const scheme = token?.dpopJkt !== undefined ? 'DPoP' : 'Bearer';
      refuse(ctx, new TokenValidationError(403, 'insufficient_scope', 'the token lacks a required scope', missing.join(' '), scheme), {});
      return;
    }
    await next();
  };
}

/** RFC 9728 protected-resource metadata for `/.well-known/oauth-protected-resource`. */
export function protectedResourceMetadata(opts: { resource: string; issuer: string; scopes?: readonly string[]; dpop?: { readonly algorithms: readonly string[]; readonly required?: boolean } }) {
  return function metadata(ctx: Context): void {
    ctx.body = {
      resource: opts.resource,
      authorization_servers: [opts.issuer],
      bearer_methods_supported: ['header'],
      ...(opts.scopes ? { scopes_supported: opts.scopes } : {}),
      ...(opts.dpop ? { dpop_signing_alg_values_supported: opts.dpop.algorithms, dpop_bound_access_tokens_required: opts.dpop.required ?? false } : {}),
    };
  };
}
