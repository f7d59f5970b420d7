/**
 * The two cookies of a person's sign-in, written by hand (no framework default can weaken them):
 * - the session cookie: a random id, `HttpOnly`, `SameSite=Strict`, `Secure` unless the broker runs on a
 *   loopback address over plain HTTP (development);
 * - the login-state cookie: a random id naming the pending login (state, nonce, PKCE verifier) for the
 *   callback only. The callback is a cross-site navigation from the identity provider, which a Strict
 *   cookie would not accompany, so this one is `SameSite=Lax`, scoped to the callback path, and lives
 *   ten minutes at most.
 */
import type { Context } from 'koa';

export const SESSION_COOKIE = 'broker_session';
export const LOGIN_COOKIE = 'broker_login';

export interface CookieOptions {
  readonly secure: boolean;
  readonly sameSite: 'Strict' | 'Lax';
  readonly path: string;
  /** Seconds; 0 deletes the cookie. */
  readonly maxAge: number;
}

const COOKIE_VALUE = /^[A-Za-z0-9_-]{1,128}$/u;

export function serializeCookie(name: string, value: string, opts: CookieOptions): string {
  const parts = [`${name}=${value}`, `Path=${opts.path}`, `Max-Age=${String(opts.maxAge)}`, 'HttpOnly', `SameSite=${opts.sameSite}`];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}

/** The value of cookie `name`, if present and shaped like an id we issue (anything else is ignored). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return COOKIE_VALUE.test(value) ? value : undefined;
  }
  return undefined;
}

export function appendCookie(ctx: Context, cookie: string): void {
  const existing = ctx.response.get('Set-Cookie') as string | string[] | undefined;
  const list = existing === undefined || existing === '' ? [] : Array.isArray(existing) ? existing : [existing];
  ctx.set('Set-Cookie', [...list, cookie]);
}

/** Plain HTTP on a loopback host is the only case where cookies are not `Secure`. */
export function secureCookiesFor(baseUrl: string): boolean {
  const url = new URL(baseUrl);
  if (url.protocol === 'https:') return true;
  return !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}
