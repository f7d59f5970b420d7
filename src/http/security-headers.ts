/**
 * Headers every broker response carries, and the cross-origin policy.
 * - `X-Content-Type-Options: nosniff`: a JSON error echoing input is never sniffed into HTML or script.
 * - `Referrer-Policy: no-referrer`: URLs of the broker never leak into third-party Referer headers.
 * - `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`: the broker serves data, never
 *   documents; should a response ever be rendered, it runs nothing and cannot be framed (clickjacking).
 * - CORS: only the public, credential-free documents (discovery metadata, the JWKS) may be read by a browser
 *   page of another origin. Everything else (`/token`, `/revoke`, introspection, the feed, the admin API) is
 *   for servers: any `Access-Control-*` header oidc-provider or a route set is removed, so a browser never
 *   exposes those answers to a page (RFC 9700 §2.5 and §4.16: no token endpoint for browser scripts here).
 */
import type { Context, Next } from 'koa';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
};

/** Whether a browser page of any origin may read the answer to `path` (public metadata and keys only). */
const ASCII_UPPER = /[A-Z]/u;

export function corsAllowed(path: string, publicPaths: ReadonlySet<string>): boolean {
  // The common case (no capital, no trailing slash) needs no normalising: a lookup as it is.
  if (!ASCII_UPPER.test(path) && !path.endsWith('/')) return publicPaths.has(path);
  return publicPaths.has(path.replace(/[A-Z]/gu, (c) => c.toLowerCase()).replace(/(.)\/$/u, '$1'));
}

function removeCors(ctx: Context): void {
  // getHeaderNames(): the (lower-case) names without copying every header into an object as getHeaders() does.
  for (const name of ctx.res.getHeaderNames()) {
    if (name.toLowerCase().startsWith('access-control-')) ctx.remove(name);
  }
}

/** Koa middleware: must be the outermost, so it covers answers of every later middleware and of errors. */
export function securityHeaders(publicPaths: ReadonlySet<string>) {
  return async function securityHeadersMiddleware(ctx: Context, next: Next): Promise<void> {
    ctx.set(SECURITY_HEADERS);
    const cors = corsAllowed(ctx.path, publicPaths);
    try {
      await next();
    } catch (err) {
      // Koa's default error handler clears every header and then applies `err.headers`: keep ours.
      if (typeof err === 'object' && err !== null) {
        const carrier = err as { headers?: Record<string, string> };
        carrier.headers = { ...carrier.headers, ...SECURITY_HEADERS };
      }
      throw err;
    }
    if (!cors) removeCors(ctx);
  };
}
