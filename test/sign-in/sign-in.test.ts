/**
 * Person sign-in against a real oidc-provider (the development identity provider): authorization code +
 * PKCE through openid-client, the login form, the callback, the session cookie and the role checks.
 */
import type { Server } from 'node:http';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevIdentityProvider, DEV_CONSOLE_CLIENT_ID, DEV_ROLES_CLAIM } from '../../src/dev/dev-identity-provider.js';
import { createLogger } from '../../src/log.js';
import { close, listen, serve } from '../../src/server/listen.js';
import { createSignIn, MemorySessionStore, SESSION_COOKIE, type PersonSession, type SessionStore } from '../../src/sign-in/index.js';
import { CookieJar, follow, request, signInWithPassword } from '../support/person-login.js';

let idp: { server: Server; issuer: string };
let broker: { server: Server; url: string };
let signIn: ReturnType<typeof createSignIn>;

beforeAll(async () => {
  const idpListener = await listen(undefined, '127.0.0.1', 0);
  const brokerListener = await listen(undefined, '127.0.0.1', 0);
  const brokerUrl = `http://127.0.0.1:${String(brokerListener.port)}`;
  const issuer = `http://127.0.0.1:${String(idpListener.port)}`;
  const provider = await createDevIdentityProvider({ issuer, audience: brokerUrl, signInRedirectUris: [`${brokerUrl}/signin/callback`] });
  serve(idpListener.server, provider.callback());
  idp = { server: idpListener.server, issuer };

  signIn = createSignIn({
    baseUrl: brokerUrl, provider: { issuer, clientId: DEV_CONSOLE_CLIENT_ID }, rolesClaim: DEV_ROLES_CLAIM,
    store: new MemorySessionStore(), log: createLogger(process.env.DEBUG_SIGNIN ? 'debug' : 'silent'), defaultReturnTo: '/console/',
  });
  const app = new Koa();
  app.use(signIn.routes());
  app.use(async (ctx, next) => {
    if (ctx.path === '/whoami') {
      await signIn.requirePerson('viewer')(ctx, () => {
        const p = ctx.state.person as PersonSession;
        ctx.body = { sub: p.sub, roles: p.roles, csrf: p.csrf };
        return Promise.resolve();
      });
      return;
    }
    if (ctx.path === '/act') {
      await signIn.requirePerson('operator')(ctx, () => { ctx.body = { ok: true }; return Promise.resolve(); });
      return;
    }
    await next();
  });
  serve(brokerListener.server, app.callback());
  broker = { server: brokerListener.server, url: brokerUrl };
});

afterAll(async () => {
  signIn.close();
  await close(broker.server, 0);
  await close(idp.server, 0);
});

describe('person sign-in (authorization code + PKCE)', () => {
  it('signs alice in: state, nonce and PKCE in the request, a Strict HttpOnly session cookie, her roles', async () => {
    const jar = new CookieJar();
    const start = await request(jar, `${broker.url}/signin/login?return_to=/console/agents`);
    expect(start.status).toBe(302);
    const auth = new URL(start.headers.get('location') ?? '');
    expect(auth.origin).toBe(idp.issuer);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/u);
    expect(auth.searchParams.get('state')).toBeTruthy();
    expect(auth.searchParams.get('nonce')).toBeTruthy();
    const loginCookie = start.headers.getSetCookie().find((c) => c.startsWith('broker_login='));
    expect(loginCookie).toMatch(/HttpOnly/u);
    expect(loginCookie).toMatch(/SameSite=Lax/u);
    expect(loginCookie).toMatch(/Path=\/signin\/callback/u);

    const done = await signInWithPassword(broker.url, 'alice', 'alice-dev-password', '/console/agents');
    expect(done.response.status).toBe(200);
    expect(done.url).toMatch(/\/signin\/callback\?/u);
    const page = await done.response.text();
    expect(page).toContain('url=/console/agents');
    const me = await request(done.jar, `${broker.url}/whoami`);
    expect(me.status).toBe(200);
    const body = await me.json() as { sub: string; roles: string[] };
    expect(body).toMatchObject({ sub: 'alice', roles: ['viewer', 'operator', 'approver'] });
  });

  it('sets the session cookie HttpOnly and SameSite=Strict, not Secure on loopback, holding only a random id', async () => {
    const jar = new CookieJar();
    const form = await follow(jar, `${broker.url}/signin/login`);
    const action = /action="([^"]+)"/u.exec(await form.response.text())?.[1] ?? '';
    const post = await request(jar, new URL(action, form.url).href, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=bob&password=bob-dev-password' });
    let url = new URL(post.headers.get('location') ?? '', form.url).href;
    let res = await request(jar, url);
    while (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location') ?? '', url).href;
      res = await request(jar, url);
    }
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`)) ?? '';
    expect(cookie).toMatch(/HttpOnly/u);
    expect(cookie).toMatch(/SameSite=Strict/u);
    expect(cookie).not.toMatch(/Secure/u);
    expect(cookie).toMatch(/^broker_session=[A-Za-z0-9_-]{43};/u);
    // The login-state cookie is cleared by the callback.
    expect(res.headers.getSetCookie().some((c) => c.startsWith('broker_login=;') && /Max-Age=0/u.test(c))).toBe(true);
  });

  it('refuses a wrong password at the identity provider (no session)', async () => {
    const done = await signInWithPassword(broker.url, 'alice', 'wrong-password');
    expect(done.response.status).toBe(401);
    expect(done.jar.get(broker.url, SESSION_COOKIE)).toBeUndefined();
  });

  it('refuses a person without any console role: 403, no session', async () => {
    const done = await signInWithPassword(broker.url, 'carol', 'carol-dev-password');
    expect(done.response.status).toBe(403);
    expect(await done.response.text()).toContain('no role');
    expect(done.jar.get(broker.url, SESSION_COOKIE)).toBeUndefined();
  });

  it('refuses a callback without the login-state cookie (a code injected from elsewhere)', async () => {
    const jar = new CookieJar();
    const form = await follow(jar, `${broker.url}/signin/login`);
    const action = /action="([^"]+)"/u.exec(await form.response.text())?.[1] ?? '';
    const post = await request(jar, new URL(action, form.url).href, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=alice&password=alice-dev-password' });
    let url = new URL(post.headers.get('location') ?? '', form.url).href;
    let res = await request(jar, url);
    while (res.status >= 300 && res.status < 400 && !(res.headers.get('location') ?? '').startsWith(broker.url)) {
      url = new URL(res.headers.get('location') ?? '', url).href;
      res = await request(jar, url);
    }
    const callback = res.headers.get('location') ?? '';
    expect(callback.startsWith(`${broker.url}/signin/callback?code=`)).toBe(true);
    // An attacker's browser (no login-state cookie) presents the victim's code.
    const stranger = new CookieJar();
    const refused = await request(stranger, callback);
    expect(refused.status).toBe(400);
    expect(stranger.get(broker.url, SESSION_COOKIE)).toBeUndefined();
    // And the rightful browser can use its callback once, not twice.
    const ok = await request(jar, callback);
    expect(ok.status).toBe(200);
    const again = await request(new CookieJar(), callback);
    expect(again.status).toBe(400);
  });

  it('refuses a callback whose state does not match the pending login, even with a valid code', async () => {
    const jar = new CookieJar();
    const form = await follow(jar, `${broker.url}/signin/login`);
    const action = /action="([^"]+)"/u.exec(await form.response.text())?.[1] ?? '';
    const post = await request(jar, new URL(action, form.url).href, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=alice&password=alice-dev-password' });
    let url = new URL(post.headers.get('location') ?? '', form.url).href;
    let res = await request(jar, url);
    while (res.status >= 300 && res.status < 400 && !(res.headers.get('location') ?? '').startsWith(broker.url)) {
      url = new URL(res.headers.get('location') ?? '', url).href;
      res = await request(jar, url);
    }
    const callback = new URL(res.headers.get('location') ?? '');
    callback.searchParams.set('state', 'forged-state');
    const refused = await request(jar, callback.href);
    expect(refused.status).toBe(400);
    expect(jar.get(broker.url, SESSION_COOKIE)).toBeUndefined();
  });

  it('never redirects off-site after sign-in (return_to is a local path only)', async () => {
    const done = await signInWithPassword(broker.url, 'alice', 'alice-dev-password', '//evil.example/x');
    expect(await done.response.text()).toContain('url=/console/');
  });

  it('checks roles and CSRF on state changes: a viewer is refused 403, a missing token is refused 403', async () => {
    const bob = await signInWithPassword(broker.url, 'bob', 'bob-dev-password');
    const bobMe = await (await request(bob.jar, `${broker.url}/whoami`)).json() as { csrf: string };
    const viewer = await request(bob.jar, `${broker.url}/act`, { method: 'POST', headers: { 'x-csrf-token': bobMe.csrf } });
    expect(viewer.status).toBe(403);
    expect(await viewer.json()).toMatchObject({ error: 'insufficient_scope' });

    const alice = await signInWithPassword(broker.url, 'alice', 'alice-dev-password');
    const aliceMe = await (await request(alice.jar, `${broker.url}/whoami`)).json() as { csrf: string };
    const noToken = await request(alice.jar, `${broker.url}/act`, { method: 'POST' });
    expect(noToken.status).toBe(403);
    expect(await noToken.json()).toMatchObject({ error: 'invalid_request' });
    const otherToken = await request(alice.jar, `${broker.url}/act`, { method: 'POST', headers: { 'x-csrf-token': bobMe.csrf } });
    expect(otherToken.status).toBe(403);
    const foreignOrigin = await request(alice.jar, `${broker.url}/act`, { method: 'POST', headers: { 'x-csrf-token': aliceMe.csrf, origin: 'http://evil.example' } });
    expect(foreignOrigin.status).toBe(403);
    const ok = await request(alice.jar, `${broker.url}/act`, { method: 'POST', headers: { 'x-csrf-token': aliceMe.csrf, origin: broker.url } });
    expect(ok.status).toBe(200);
    expect(await request(new CookieJar(), `${broker.url}/whoami`)).toHaveProperty('status', 401);
  });

  it('logs out: the session is gone server-side, and the identity provider signs the person out too (RP-initiated logout)', async () => {
    const alice = await signInWithPassword(broker.url, 'alice', 'alice-dev-password');
    // While signed in at the identity provider, a new sign-in needs no password (its own session).
    const sso = await follow(alice.jar, `${broker.url}/signin/login`);
    expect(sso.url).toMatch(/\/signin\/callback\?/u);
    const me = await (await request(alice.jar, `${broker.url}/whoami`)).json() as { csrf: string };
    const cookie = alice.jar.header(broker.url);
    // Without the CSRF token: refused, still signed in.
    const forged = await request(alice.jar, `${broker.url}/signin/logout`, { method: 'POST' });
    expect(forged.status).toBe(403);
    expect((await fetch(`${broker.url}/whoami`, { headers: { cookie } })).status).toBe(200);

    const out = await request(alice.jar, `${broker.url}/signin/logout`, { method: 'POST', headers: { 'x-csrf-token': me.csrf } });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=;`) && /Max-Age=0/u.test(c))).toBe(true);
    const { end_session_url: endSession } = await out.json() as { end_session_url: string };
    const end = new URL(endSession);
    expect(`${end.origin}${end.pathname}`).toBe(`${idp.issuer}/session/end`);
    expect(end.searchParams.get('client_id')).toBe(DEV_CONSOLE_CLIENT_ID);
    expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${broker.url}/signin/signed-out`);
    // Even replaying the old cookie: the server forgot the session.
    const replay = await fetch(`${broker.url}/whoami`, { headers: { cookie } });
    expect(replay.status).toBe(401);

    // At the identity provider: its confirmation form, then back to the broker's signed-out page.
    const confirm = await follow(alice.jar, end.href);
    expect(confirm.response.status).toBe(200);
    const html = await confirm.response.text();
    const action = /action="([^"]+)"/u.exec(html)?.[1] ?? '';
    const xsrf = /name="xsrf" value="([^"]+)"/u.exec(html)?.[1] ?? '';
    const back = await follow(alice.jar, new URL(action, confirm.url).href, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    expect(back.url).toBe(`${broker.url}/signin/signed-out`);
    expect(await back.response.text()).toContain('Signed out');
    // Signed out at the identity provider too: the next sign-in asks for the password again.
    const again = await follow(alice.jar, `${broker.url}/signin/login`);
    expect(new URL(again.url).origin).toBe(idp.issuer);
    expect(await again.response.text()).toContain('name="password"');
  });
});

/** A store that keeps every entry a day whatever it is asked: only the sign-in's own checks end sessions here. */
function keepsForADay(store: SessionStore): SessionStore {
  return {
    get: (kind, id) => store.get(kind, id),
    set: (kind, id, value) => store.set(kind, id, value, 24 * 3600_000),
    take: (kind, id) => store.take(kind, id),
    delete: (kind, id) => store.delete(kind, id),
    close: () => { store.close(); },
  };
}

describe('session lifetimes', () => {
  it('ends a session unused for the idle timeout, keeps one in use, and ends any at its absolute lifetime', async () => {
    let clock = Date.now();
    const listener = await listen(undefined, '127.0.0.1', 0);
    const url = `http://127.0.0.1:${String(listener.port)}`;
    const idpListener = await listen(undefined, '127.0.0.1', 0);
    const issuer = `http://127.0.0.1:${String(idpListener.port)}`;
    const provider = await createDevIdentityProvider({ issuer, audience: url, signInRedirectUris: [`${url}/signin/callback`] });
    serve(idpListener.server, provider.callback());
    const timed = createSignIn({
      baseUrl: url, provider: { issuer, clientId: DEV_CONSOLE_CLIENT_ID }, rolesClaim: DEV_ROLES_CLAIM,
      store: keepsForADay(new MemorySessionStore(() => clock)), log: createLogger('silent'), now: () => clock, sessionSeconds: 3600, idleSeconds: 600,
    });
    const app = new Koa();
    app.use(timed.routes());
    app.use(async (ctx) => { await timed.requirePerson('viewer')(ctx, () => { ctx.body = { ok: true }; return Promise.resolve(); }); });
    serve(listener.server, app.callback());
    try {
      const whoami = (jar: CookieJar) => request(jar, `${url}/whoami`).then((r) => r.status);
      // In use every 9 minutes: alive after 45 minutes, well past one idle timeout.
      const busy = await signInWithPassword(url, 'alice', 'alice-dev-password');
      const idle = await signInWithPassword(url, 'bob', 'bob-dev-password');
      for (let i = 0; i < 5; i += 1) {
        clock += 9 * 60_000;
        expect(await whoami(busy.jar)).toBe(200);
      }
      // Unused for 45 minutes (idle timeout 10): ended.
      expect(await whoami(idle.jar)).toBe(401);
      // The absolute lifetime (1 h) ends even a session in use.
      clock += 9 * 60_000;
      expect(await whoami(busy.jar)).toBe(200);
      clock += 9 * 60_000;
      expect(await whoami(busy.jar)).toBe(401);
      // A page polling by itself every minute does not keep a session alive.
      const polled = await signInWithPassword(url, 'alice', 'alice-dev-password');
      for (let i = 0; i < 9; i += 1) {
        clock += 60_000;
        expect((await request(polled.jar, `${url}/whoami`, { headers: { 'x-console-background': '1' } })).status).toBe(200);
      }
      clock += 60_000;
      expect((await request(polled.jar, `${url}/whoami`, { headers: { 'x-console-background': '1' } })).status).toBe(401);
      // Idle exactly at the bound: ended (the bound is inclusive).
      const edge = await signInWithPassword(url, 'alice', 'alice-dev-password');
      clock += 600_000;
      expect(await whoami(edge.jar)).toBe(401);
    } finally {
      timed.close();
      await close(listener.server, 0);
      await close(idpListener.server, 0);
    }
  });
});
