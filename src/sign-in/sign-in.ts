/**
 * A person signs in to the broker (console, `/connect`) through the trusted identity provider:
 * OpenID Connect authorization code flow (OIDC Core §3.1) with PKCE S256 (RFC 7636), `state` (RFC 6749
 * §10.12) and `nonce` (OIDC Core §3.1.2.1), by `openid-client`. The result is a server-side session; the
 * browser holds only its random id (cookies.ts). Roles come from one configured claim (roles.ts).
 *
 * Routes: GET /signin/login?return_to=/path, GET /signin/callback, POST /signin/logout (CSRF token),
 * GET /signin/signed-out (where the identity provider sends the person back after its own logout).
 * Other features use `sessionOf(ctx)` and `requirePerson(role)`.
 *
 * A session ends at the first of: its absolute lifetime (`sessionSeconds`, from sign-in), an idle timeout
 * (`idleSeconds`, since the last request that used it; OWASP ASVS V3.3.2), or logout. Logout forgets the
 * session here and hands the browser the identity provider's `end_session_endpoint` (OpenID Connect
 * RP-Initiated Logout 1.0 §2), so the person is signed out there too and the next sign-in asks again.
 */
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import * as oidc from 'openid-client';
import type { Logger } from '../log.js';
import { appendCookie, LOGIN_COOKIE, readCookie, secureCookiesFor, serializeCookie, SESSION_COOKIE } from './cookies.js';
import { continuePage, problemPage, signedOutPage } from './pages.js';
import { csrfMatches, parsePending, parseSession, randomId, safeReturnTo, type PendingLogin, type PersonSession } from './person-session.js';
import { hasRole, rolesFromClaims, type PersonRole } from './roles.js';
import type { SessionStore } from './session-store.js';
import { renderOAuthError } from '../http/oauth-error.js';

export const SIGN_IN_PATHS = { login: '/signin/login', callback: '/signin/callback', logout: '/signin/logout', signedOut: '/signin/signed-out' } as const;
const LOGIN_TTL_MS = 10 * 60_000;
const DEFAULT_SESSION_SECONDS = 8 * 3600;
export const DEFAULT_IDLE_SECONDS = 30 * 60;
/**
 * Sent by a page polling on its own (the console's overview refresh, the live tail): such a request is
 * served but does not count as the person's activity, or an open tab would keep its session alive for ever.
 */
export const BACKGROUND_HEADER = 'x-console-background';

export interface SignInProvider {
  /** The identity provider's issuer identifier (discovery at `<issuer>/.well-known/openid-configuration`). */
  readonly issuer: string;
  readonly clientId: string;
  /** Confidential client: its secret (client_secret_basic). Absent: a public client, PKCE only. */
  readonly clientSecret?: string;
}

export interface SignInOptions {
  /** The broker's external base URL (its issuer identifier): the redirect URI is `<baseUrl>/signin/callback`. */
  readonly baseUrl: string;
  readonly provider: SignInProvider;
  /** The ID token claim holding the person's roles. */
  readonly rolesClaim: string;
  readonly store: SessionStore;
  readonly log: Logger;
  readonly sessionSeconds?: number;
  /** A session unused this long ends (default 30 min). */
  readonly idleSeconds?: number;
  /** Where to go after sign-in when the login named no `return_to`. */
  readonly defaultReturnTo?: string;
  readonly now?: () => number;
  /**
   * A signed-in person attempted a state change their roles do not allow: the console records it (a denied
   * admin action), so a refusal is as visible in the log as an action. Awaited; a failure to record is logged.
   */
  readonly onRoleRefused?: (refusal: RoleRefusal) => Promise<void>;
}

export interface RoleRefusal {
  readonly session: PersonSession;
  readonly role: PersonRole;
  readonly method: string;
  readonly path: string;
  readonly requestId: string | undefined;
  readonly callerAddress: string;
}

function isLoopbackHttp(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
}

export function createSignIn(opts: SignInOptions) {
  const now = opts.now ?? Date.now;
  const secure = secureCookiesFor(opts.baseUrl);
  const redirectUri = `${opts.baseUrl}${SIGN_IN_PATHS.callback}`;
  const sessionMs = (opts.sessionSeconds ?? DEFAULT_SESSION_SECONDS) * 1000;
  const idleMs = (opts.idleSeconds ?? DEFAULT_IDLE_SECONDS) * 1000;
  // The last use is written back at most this often: a store write per request is not needed to keep an
  // idle clock that may end a session up to this much early, never late.
  const touchEveryMs = Math.min(60_000, idleMs / 4);
  const postLogoutRedirectUri = `${opts.baseUrl}${SIGN_IN_PATHS.signedOut}`;
  const fallback = opts.defaultReturnTo ?? '/';
  let discovered: Promise<oidc.Configuration> | undefined;

  /** Discovery once; a failure is not cached (the next sign-in tries again). */
  function configuration(): Promise<oidc.Configuration> {
    discovered ??= oidc.discovery(
      new URL(opts.provider.issuer),
      opts.provider.clientId,
      opts.provider.clientSecret,
      opts.provider.clientSecret === undefined ? oidc.None() : oidc.ClientSecretBasic(opts.provider.clientSecret),
      // Plain HTTP only to an identity provider on this machine (the development one).
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- plain http only on loopback (development and tests)
      isLoopbackHttp(opts.provider.issuer) ? { execute: [oidc.allowInsecureRequests], timeout: 5 } : { timeout: 5 },
    ).catch((err: unknown) => {
      discovered = undefined;
      throw err;
    });
    return discovered;
  }

  function clearLogin(ctx: Context): void {
    appendCookie(ctx, serializeCookie(LOGIN_COOKIE, '', { secure, sameSite: 'Lax', path: SIGN_IN_PATHS.callback, maxAge: 0 }));
  }

  function problem(ctx: Context, status: number, title: string, detail: string): void {
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = problemPage(title, detail, SIGN_IN_PATHS.login);
  }

  async function sessionOf(ctx: Context): Promise<PersonSession | undefined> {
    const id = readCookie(ctx.get('cookie') || undefined, SESSION_COOKIE);
    if (id === undefined) return undefined;
    const t = now();
    const session = parseSession(await opts.store.get('person', id), t);
    if (!session) return undefined;
    const lastSeen = session.lastSeenAt ?? session.createdAt;
    if (t - lastSeen >= idleMs) {
      await opts.store.delete('person', id);
      return undefined;
    }
    if (t - lastSeen >= touchEveryMs && ctx.get(BACKGROUND_HEADER) !== '1') {
      const touched: PersonSession = { ...session, lastSeenAt: t };
      // The store entry itself also lapses when idle (no sweep needed for abandoned sessions).
      await opts.store.set('person', id, JSON.stringify(touched), Math.min(session.expiresAt - t, idleMs));
      return touched;
    }
    return session;
  }

  /** The identity provider's logout URL (RP-Initiated Logout §2), or undefined when it offers none. */
  async function endSessionUrl(): Promise<string | undefined> {
    try {
      const config = await configuration();
      if (config.serverMetadata().end_session_endpoint === undefined) return undefined;
      // client_id instead of id_token_hint (§2: either identifies the client for post_logout_redirect_uri),
      // so no ID token is kept in the session store.
      return oidc.buildEndSessionUrl(config, { client_id: opts.provider.clientId, post_logout_redirect_uri: postLogoutRedirectUri }).href;
    } catch (err) {
      opts.log.warn({ err, idp: opts.provider.issuer }, 'sign-in: identity provider discovery failed; signed out here only');
      return undefined;
    }
  }

  const router = new Router();
  router.get(SIGN_IN_PATHS.login, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    let config: oidc.Configuration;
    try {
      config = await configuration();
    } catch (err) {
      opts.log.warn({ err, idp: opts.provider.issuer }, 'sign-in: identity provider discovery failed');
      problem(ctx, 503, 'Sign-in unavailable', 'The identity provider cannot be reached. Try again shortly.');
      return;
    }
    const pending: PendingLogin = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier: oidc.randomPKCECodeVerifier(),
      returnTo: safeReturnTo(ctx.query.return_to, fallback),
    };
    const loginId = randomId();
    await opts.store.set('login', loginId, JSON.stringify(pending), LOGIN_TTL_MS);
    appendCookie(ctx, serializeCookie(LOGIN_COOKIE, loginId, { secure, sameSite: 'Lax', path: SIGN_IN_PATHS.callback, maxAge: LOGIN_TTL_MS / 1000 }));
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email',
      response_type: 'code',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
    });
    ctx.redirect(url.href);
  });

  router.get(SIGN_IN_PATHS.callback, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const loginId = readCookie(ctx.get('cookie') || undefined, LOGIN_COOKIE);
    // The pending login is taken (deleted) whatever happens next: a callback URL works once.
    const pending = loginId === undefined ? undefined : parsePending(await opts.store.take('login', loginId));
    clearLogin(ctx);
    if (!pending) {
      problem(ctx, 400, 'Sign-in expired', 'This sign-in was not started here or took too long. Start again.');
      return;
    }
    let claims: Record<string, unknown>;
    try {
      const config = await configuration();
      // The URL as the identity provider addressed it: our external base, not the Host header.
      const current = new URL(`${opts.baseUrl}${ctx.url}`);
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      claims = { ...(tokens.claims() ?? {}) };
    } catch (err) {
      const detail = err instanceof oidc.AuthorizationResponseError ? err.error : 'the identity provider response could not be verified';
      opts.log.warn({ err }, 'sign-in: callback refused');
      problem(ctx, 400, 'Sign-in failed', `Sign-in did not complete: ${detail}.`);
      return;
    }
    const roles = rolesFromClaims(claims, opts.rolesClaim);
    if (roles.length === 0 || typeof claims.sub !== 'string') {
      problem(ctx, 403, 'No access', `Your account has no role for this broker (claim "${opts.rolesClaim}": viewer, operator or approver).`);
      return;
    }
    const t = now();
    const session: PersonSession = {
      v: 1, sub: claims.sub, iss: typeof claims.iss === 'string' ? claims.iss : opts.provider.issuer,
      ...(typeof claims.name === 'string' ? { name: claims.name } : {}),
      ...(typeof claims.email === 'string' ? { email: claims.email } : {}),
      roles, csrf: randomId(), createdAt: t, lastSeenAt: t, expiresAt: t + sessionMs,
    };
    // A fresh id at every sign-in (no session fixation).
    const sessionId = randomId();
    await opts.store.set('person', sessionId, JSON.stringify(session), Math.min(sessionMs, idleMs));
    appendCookie(ctx, serializeCookie(SESSION_COOKIE, sessionId, { secure, sameSite: 'Strict', path: '/', maxAge: Math.floor(sessionMs / 1000) }));
    opts.log.info({ sub: session.sub, roles }, 'sign-in: person signed in');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = continuePage(pending.returnTo);
  });

  router.post(SIGN_IN_PATHS.logout, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const id = readCookie(ctx.get('cookie') || undefined, SESSION_COOKIE);
    const session = id === undefined ? undefined : parseSession(await opts.store.get('person', id), now());
    if (!session || id === undefined || !csrfMatches(session, ctx.get('x-csrf-token') || undefined)) {
      renderOAuthError(ctx, { status: 403, error: 'invalid_request', description: 'a signed-in session and its CSRF token are required' });
      return;
    }
    await opts.store.delete('person', id);
    appendCookie(ctx, serializeCookie(SESSION_COOKIE, '', { secure, sameSite: 'Strict', path: '/', maxAge: 0 }));
    opts.log.info({ sub: session.sub }, 'sign-in: person signed out');
    const endSession = await endSessionUrl();
    // The page navigates there: a redirect answering a fetch would not take the browser to the provider.
    ctx.body = { signed_out: true, ...(endSession !== undefined ? { end_session_url: endSession } : {}) };
  });

  router.get(SIGN_IN_PATHS.signedOut, (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = signedOutPage(SIGN_IN_PATHS.login);
  });

  /**
   * Middleware for JSON APIs: 401 without a session, 403 without `role`, and for every state change
   * (non-GET/HEAD) 403 unless the CSRF token matches and the Origin, when sent, is this broker's.
   */
  function requirePerson(role: PersonRole = 'viewer') {
    const origin = new URL(opts.baseUrl).origin;
    return async (ctx: Context, next: Next): Promise<void> => {
      ctx.set('Cache-Control', 'no-store');
      const session = await sessionOf(ctx);
      if (!session) {
        ctx.status = 401;
        ctx.body = { error: 'login_required', error_description: 'sign in first', login: SIGN_IN_PATHS.login };
        return;
      }
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        const sentOrigin = ctx.get('origin');
        if (!csrfMatches(session, ctx.get('x-csrf-token') || undefined) || (sentOrigin !== '' && sentOrigin !== origin)) {
          renderOAuthError(ctx, { status: 403, error: 'invalid_request', description: 'missing or wrong CSRF token' });
          return;
        }
      }
      if (!hasRole(session.roles, role)) {
        if (ctx.method !== 'GET' && ctx.method !== 'HEAD' && opts.onRoleRefused) {
          await opts.onRoleRefused({ session, role, method: ctx.method, path: ctx.path, requestId: ctx.get('x-request-id') || undefined, callerAddress: ctx.ip })
            .catch((err: unknown) => { opts.log.error({ err }, 'a refused console action could not be recorded'); });
        }
        renderOAuthError(ctx, { status: 403, error: 'insufficient_scope', description: `this needs the ${role} role` });
        return;
      }
      ctx.state.person = session;
      await next();
    };
  }

  return { routes: () => router.routes(), sessionOf, requirePerson, redirectUri, close: () => { opts.store.close(); } };
}

export type SignIn = ReturnType<typeof createSignIn>;
