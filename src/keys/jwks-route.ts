/**
 * GET /jwks from the key schedule, not from oidc-provider's static key set: a `next` key appears as soon
 * as the broker has read its file (publish before sign) and a retired key leaves once every token it
 * signed has expired (RFC 7517 §5; the media type of RFC 7517 §8.5). Only public members are served.
 */
import type { Middleware } from 'koa';
import type { SigningKeys } from './signing-keys.js';

export function publicJwks(keys: SigningKeys): { keys: Record<string, unknown>[] } {
  return { keys: keys.all.map(({ privateJwk: { kty, crv, x, y, kid } }) => ({ kty, crv, x, y, kid, alg: 'ES256', use: 'sig' })) };
}

/**
 * The path as oidc-provider's router compares it (ASCII case-insensitive, one trailing slash ignored), so
 * that no spelling of the path reaches its static key set of the start.
 */
function routerPath(path: string): string {
  const folded = path.replace(/[A-Z]/gu, (c) => c.toLowerCase());
  return folded.length > 1 && folded.endsWith('/') ? folded.slice(0, -1) : folded;
}

export function jwksRoute(path: string, keys: SigningKeys): Middleware {
  const served = routerPath(path);
  return async (ctx, next) => {
    if (routerPath(ctx.path) !== served || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) {
      await next();
      return;
    }
    ctx.type = 'application/jwk-set+json; charset=utf-8';
    ctx.body = publicJwks(keys);
  };
}

