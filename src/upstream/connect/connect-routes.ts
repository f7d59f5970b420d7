/**
 * The consent flow the broker runs for `vault` tools, and the user's own view of their connections:
 *
 *   GET    /connect/<tool>           signed-in person → the SaaS authorization endpoint (code + PKCE, state)
 *   GET    /connect/<tool>/callback  the SaaS sends the person back: code exchanged, refresh token sealed
 *   GET    /connect                  the person's connections (JSON)
 *   DELETE /connect/<tool>           disconnect: deleted here, revoked at the SaaS (RFC 7009)
 *
 * The consent in progress is bound three ways: `state` (single use, RFC 6749 §10.12), the person who
 * started it (the pending entry is sealed with them in its AAD), and the browser that started it (a cookie
 * whose hash the pending entry holds), so a callback URL replayed in another session connects nothing.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import * as oidc from 'openid-client';
import type { Logger } from '../../log.js';
import { requestIdFrom } from '../../http/request-id.js';
import { renderOAuthError, setNoStore } from '../../http/oauth-error.js';
import { SaasRefusal, SaasUnavailable } from '../vault/saas-client.js';
import { seal, unseal } from '../vault/seal.js';
import type { Vault, VaultTool } from '../vault/vault.js';
import type { VaultKeyRing } from '../vault/vault-keys.js';
import type { VaultActor } from '../vault/vault-record.js';
import { connectPage } from './connect-pages.js';
import type { PersonSignIn, SignedInPerson } from './signed-in-person.js';

export const CONNECT_PREFIX = '/connect';
const BINDING_COOKIE = 'broker_connect';
const TOOL_ID = /^[A-Za-z0-9._-]{1,128}$/u;
const OAUTH_ERROR_CODE = /^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}$/u;

export interface ConnectRoutesDeps {
  readonly vault: Vault;
  readonly tools: () => ReadonlyMap<string, VaultTool>;
  readonly keys: () => VaultKeyRing;
  readonly signIn: PersonSignIn;
  /** The broker's issuer URL: its origin is the only one allowed to send DELETE with the person's cookie. */
  readonly brokerIssuer: string;
  readonly log: Logger;
  /** How long a consent may take from start to callback (default 10 minutes). */
  readonly pendingTtlMs?: number;
}

interface Pending { readonly codeVerifier: string; readonly browser: string }

/** As stored: who started it (in the clear, and bound again as the AAD of the sealed part). */
interface StoredPending { readonly user: string; readonly sealed: string }

function parseStoredPending(text: string | undefined): StoredPending | undefined {
  if (text === undefined) return undefined;
  try {
    const doc = JSON.parse(text) as Partial<StoredPending>;
    return typeof doc.user === 'string' && typeof doc.sealed === 'string' ? { user: doc.user, sealed: doc.sealed } : undefined;
  } catch {
    return undefined;
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Where a person connects a tool (the `not_connected` failure carries it). */
export function connectUrl(brokerIssuer: string, tool: string): string {
  return `${brokerIssuer}${CONNECT_PREFIX}/${encodeURIComponent(tool)}`;
}

/** The redirect URI to register at the SaaS for a tool (exact match, RFC 9700 §4.1.3). */
export function connectCallbackUrl(brokerIssuer: string, tool: string): string {
  return `${connectUrl(brokerIssuer, tool)}/callback`;
}

function actor(ctx: Context, person: SignedInPerson, reason: string): VaultActor {
  return { by: `user:${person.sub}`, reason, requestId: requestIdFrom(ctx.get('x-request-id') || undefined), callerAddress: ctx.ip };
}

export function connectRouter(deps: ConnectRoutesDeps): Router {
  const router = new Router({ prefix: CONNECT_PREFIX });
  const secure = deps.brokerIssuer.startsWith('https:');
  const brokerOrigin = new URL(deps.brokerIssuer).origin;

  function toolOf(ctx: Context): VaultTool | undefined {
    const id: unknown = (ctx.params as Record<string, unknown>).tool;
    return typeof id === 'string' && TOOL_ID.test(id) ? deps.tools().get(id) : undefined;
  }

  async function apiPerson(ctx: Context): Promise<SignedInPerson | undefined> {
    const person = await deps.signIn.current(ctx);
    if (!person) renderOAuthError(ctx, { status: 401, error: 'login_required', description: 'sign in to the broker first' });
    return person;
  }

  router.get('/', async (ctx) => {
    const person = await apiPerson(ctx);
    if (!person) return;
    setNoStore(ctx);
    const connections = await deps.vault.list(person.sub);
    const connected = new Set(connections.map((c) => c.tool));
    ctx.body = {
      connections: connections.map((c) => ({ tool: c.tool, upstream: c.upstream, scopes: c.scopes, connected_at: c.connectedAt, ...(c.refreshedAt ? { refreshed_at: c.refreshedAt } : {}) })),
      available: [...deps.tools().keys()].filter((t) => !connected.has(t)).map((tool) => ({ tool, connect_url: connectUrl(deps.brokerIssuer, tool) })),
    };
  });

  router.get('/:tool', async (ctx) => {
    const tool = toolOf(ctx);
    if (!tool) { connectPage(ctx, 404, 'Unknown tool', 'No tool of this name can be connected.'); return; }
    const person = await deps.signIn.current(ctx);
    if (!person) { ctx.redirect(deps.signIn.signInUrl(`${CONNECT_PREFIX}/${tool.tool}`)); return; }
    const state = oidc.randomState();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const browser = randomBytes(32).toString('base64url');
    let target: URL;
    try {
      target = await tool.client.authorizationUrl({ state, codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier) });
    } catch (err) {
      deps.log.warn({ tool: tool.tool, reason: err instanceof Error ? err.message : 'error' }, 'connect: SaaS authorization server unavailable');
      connectPage(ctx, 503, 'Try again later', 'The service to connect cannot be reached right now.');
      return;
    }
    const pending: Pending = { codeVerifier, browser: digest(browser).toString('base64url') };
    const binding = { purpose: 'pending' as const, user: person.sub, tool: tool.tool, upstream: tool.upstream.issuer };
    const stored: StoredPending = { user: person.sub, sealed: seal(deps.keys(), binding, JSON.stringify(pending)) };
    await deps.vault.store.putPending(state, JSON.stringify(stored), deps.pendingTtlMs ?? 600_000);
    ctx.cookies.set(BINDING_COOKIE, browser, { httpOnly: true, sameSite: 'lax', secure, path: CONNECT_PREFIX, maxAge: deps.pendingTtlMs ?? 600_000, overwrite: true });
    setNoStore(ctx);
    ctx.redirect(target.href);
  });

  router.get('/:tool/callback', async (ctx) => {
    const tool = toolOf(ctx);
    if (!tool) { connectPage(ctx, 404, 'Unknown tool', 'No tool of this name can be connected.'); return; }
    const state = ctx.query.state;
    const stored = typeof state === 'string' && state !== '' ? parseStoredPending(await deps.vault.store.takePending(state)) : undefined;
    if (!stored || typeof state !== 'string') { connectPage(ctx, 400, 'Not connected', 'This consent is unknown, expired or already used. Connect again.'); return; }
    // The broker session cookie is SameSite=Strict, so a browser coming back from the SaaS (another site)
    // may not send it: the person is the one who started the consent, proven by the binding cookie below.
    // When a session is present, it must be that same person.
    const person = await deps.signIn.current(ctx);
    let pending: Pending;
    try {
      if (person && person.sub !== stored.user) throw new Error('another person');
      pending = JSON.parse(unseal(deps.keys(), { purpose: 'pending', user: stored.user, tool: tool.tool, upstream: tool.upstream.issuer }, stored.sealed)) as Pending;
    } catch {
      // Started by another person, or for another tool: never connect it to this one.
      deps.log.warn({ tool: tool.tool, user: person?.sub }, 'connect: a consent came back to someone who did not start it');
      connectPage(ctx, 400, 'Not connected', 'This consent was not started in this session. Connect again.');
      return;
    }
    const cookie = ctx.cookies.get(BINDING_COOKIE);
    ctx.cookies.set(BINDING_COOKIE, null, { path: CONNECT_PREFIX });
    const expected = Buffer.from(pending.browser, 'base64url');
    if (cookie === undefined || !timingSafeEqual(digest(cookie), expected)) {
      deps.log.warn({ tool: tool.tool, user: stored.user }, 'connect: a consent came back in another browser');
      connectPage(ctx, 400, 'Not connected', 'This consent was not started in this browser. Connect again.');
      return;
    }
    const user = stored.user;
    const error = ctx.query.error;
    if (typeof error === 'string') {
      const code = OAUTH_ERROR_CODE.test(error) ? error : 'invalid_request';
      connectPage(ctx, 400, 'Not connected', `The service did not grant access (${code}).`);
      return;
    }
    const callback = new URL(tool.upstream.redirectUri);
    callback.search = ctx.querystring;
    try {
      const tokens = await tool.client.exchangeCode(callback, { state, codeVerifier: pending.codeVerifier });
      await deps.vault.connect(tool, user, tokens, actor(ctx, { sub: user }, 'connected by the user'));
    } catch (err) {
      if (err instanceof SaasRefusal) {
        const code = OAUTH_ERROR_CODE.test(err.error) ? err.error : 'invalid_grant';
        deps.log.warn({ tool: tool.tool, error: code }, 'connect: the SaaS refused the code exchange');
        connectPage(ctx, 400, 'Not connected', `The service refused (${code}). Connect again.`);
        return;
      }
      const unavailable = err instanceof SaasUnavailable;
      deps.log.warn({ tool: tool.tool, reason: err instanceof Error ? err.message : 'error' }, 'connect: the connection could not be completed');
      connectPage(ctx, 503, 'Try again later', unavailable ? 'The service to connect cannot be reached right now.' : 'The connection could not be stored right now.');
      return;
    }
    connectPage(ctx, 200, 'Connected', `The broker can now act for you at ${tool.tool}, only through the tool and only within what you allowed.`);
  });

  router.delete('/:tool', async (ctx) => {
    // A cross-site page cannot make a browser send DELETE without a preflight this broker does not answer;
    // the Origin check refuses any other origin that tries anyway.
    const origin = ctx.get('origin');
    if (origin !== '' && origin !== brokerOrigin) {
      renderOAuthError(ctx, { status: 403, error: 'invalid_request', description: 'cross-origin request refused' });
      return;
    }
    const person = await apiPerson(ctx);
    if (!person) return;
    const tool = toolOf(ctx);
    if (!tool) { renderOAuthError(ctx, { status: 404, error: 'invalid_target', description: 'no such tool' }); return; }
    const outcome = await deps.vault.disconnect(tool.tool, person.sub, actor(ctx, person, 'disconnected by the user'));
    if (!outcome.deleted) { renderOAuthError(ctx, { status: 404, error: 'invalid_target', description: 'this tool is not connected' }); return; }
    setNoStore(ctx);
    ctx.body = { tool: tool.tool, disconnected: true, revoked_at_saas: outcome.revokedAtSaas };
  });

  return router;
}
