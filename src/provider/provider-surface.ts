/**
 * What of oidc-provider the broker exposes. The broker uses three of its endpoints (token, JWKS, revocation)
 * and its discovery document; everything else it can mount (authorization, resume, logout, device flow,
 * CIBA, PAR, registration, userinfo, its own introspection and revocation paths, interactions, credential
 * issuance) answers 404, as an unknown path does, whatever the method, case or trailing slash.
 */
import type { Context, Next } from 'koa';

/** oidc-provider's `routes` configuration (defaults of oidc-provider 9), each one the broker does not use. */
export const UNUSED_ROUTES = {
  authorization: '/auth',
  backchannel_authentication: '/backchannel',
  code_verification: '/device',
  challenge: '/challenge',
  device_authorization: '/device/auth',
  end_session: '/session/end',
  introspection: '/token/introspection',
  pushed_authorization_request: '/request',
  registration: '/reg',
  userinfo: '/me',
  credential: '/credential',
} as const;

/**
 * Paths oidc-provider mounts beyond `routes` (sub-paths of the above are covered by prefix): the
 * authorization resume (`/auth/:uid`), logout confirmation (`/session/end/confirm`), the development
 * interactions and the credential-issuer metadata.
 */
const OTHER_UNUSED_PATHS = ['/interaction', '/.well-known/openid-credential-issuer'] as const;

const UNUSED: readonly string[] = [...Object.values(UNUSED_ROUTES), ...OTHER_UNUSED_PATHS];
/** Built once: this runs on every request (profiled, bench broker-same). */
const UNUSED_PREFIXES = UNUSED.map((route) => `${route}/`);
const ASCII_UPPER = /[A-Z]/u;

/**
 * The path as oidc-provider's router compares it: ASCII case-insensitive (non-ASCII characters never fold
 * onto ASCII ones there), with one trailing slash ignored.
 */
export function routerPath(path: string): string {
  // Most paths have no capital: no replacement (and no new string) for them.
  const folded = ASCII_UPPER.test(path) ? path.replace(/[A-Z]/gu, (c) => c.toLowerCase()) : path;
  return folded.length > 1 && folded.endsWith('/') ? folded.slice(0, -1) : folded;
}

/** Whether `path` reaches an oidc-provider endpoint the broker does not use. */
export function isUnusedRoute(path: string): boolean {
  const p = routerPath(path);
  return UNUSED.includes(p) || UNUSED_PREFIXES.some((prefix) => p.startsWith(prefix));
}

/** Koa middleware: unused oidc-provider endpoints answer exactly like a path that does not exist. */
export function unusedRoutes() {
  return async function unusedRoutesMiddleware(ctx: Context, next: Next): Promise<void> {
    if (isUnusedRoute(ctx.path)) {
      ctx.status = 404;
      return;
    }
    await next();
  };
}


/** Seconds a client may reuse the metadata: it changes only with a redeployment (keys rotate in the JWKS). */
export const METADATA_MAX_AGE_SECONDS = 300;

/**
 * Koa middleware for the discovery documents: they name no unserved endpoint and may be cached by clients
 * for a few minutes (the SDKs re-read them at start-up only).
 */
export function publicMetadata(paths: readonly string[]) {
  const served = new Set(paths.map(routerPath));
  return async function publicMetadataMiddleware(ctx: Context, next: Next): Promise<void> {
    const isMetadata = ctx.path.length > 12 && served.has(routerPath(ctx.path));
    await next();
    if (!isMetadata || ctx.status !== 200 || typeof ctx.body !== 'object' || ctx.body === null) return;
    // It would advertise an endpoint the broker does not serve; RFC 8414 §2 lets it go without one.
    delete (ctx.body as { authorization_endpoint?: unknown }).authorization_endpoint;
    ctx.set('Cache-Control', `public, max-age=${METADATA_MAX_AGE_SECONDS}`);
  };
}
