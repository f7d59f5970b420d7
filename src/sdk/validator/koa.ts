/** Koa integration: `authenticate(validator)` puts the validated token on `ctx.state.token`; `requireScope`. */
import type { Context, Next } from 'koa';
import { TokenValidationError, wwwAuthenticate } from './errors.js';
import type { TokenValidator, ValidatedToken } from './token-validator.js';

export interface KoaOptions { readonly realm?: string; readonly resourceMetadata?: string }

function refuse(ctx: Context, err: TokenValidationError, opts: KoaOptions): void {
  ctx.status = err.status;
  if (err.status !== 503) ctx.set('WWW-Authenticate', wwwAuthenticate(err, opts));
  ctx.body = err.code === 'invalid_request' && err.description === 'no token'
    ? { error: 'invalid_token', error_description: 'a bearer token is required' }
    : { error: err.code, error_description: err.description };
}

export function authenticate(validator: TokenValidator, opts: KoaOptions = {}) {
  return async function brokerToken(ctx: Context, next: Next): Promise<void> {
    // Only the Authorization header carries the token; a token in the query string is ignored.
    try {
      ctx.state.token = await validator.validate(ctx.get('authorization') || undefined);
    } catch (err) {
      if (err instanceof TokenValidationError) {
        refuse(ctx, err, opts);
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
      refuse(ctx, new TokenValidationError(403, 'insufficient_scope', 'the token lacks a required scope', missing.join(' ')), {});
      return;
    }
    await next();
  };
}

/** RFC 9728 protected-resource metadata for `/.well-known/oauth-protected-resource`. */
export function protectedResourceMetadata(opts: { resource: string; issuer: string; scopes?: readonly string[] }) {
  return function metadata(ctx: Context): void {
    ctx.body = {
      resource: opts.resource,
      authorization_servers: [opts.issuer],
      bearer_methods_supported: ['header'],
      ...(opts.scopes ? { scopes_supported: opts.scopes } : {}),
    };
  };
}
