/**
 * TEST FIXTURE: a SaaS authorization server for the vault's tests: a real oidc-provider instance with the
 * authorization code grant + PKCE (required), rotating refresh tokens (a reused one revokes the grant and
 * answers invalid_grant), RFC 7009 revocation, and real login and consent pages (the interaction routes)
 * that a browser or an HTTP client fills in. It counts refresh grants, so a test can see a double use.
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { exportJWK, generateKeyPair } from 'jose';
import { Provider, type KoaContextWithOIDC } from '../../src/provider/oidc-provider.js';
import { close, listen, serve } from '../../src/server/listen.js';

export interface VaultSaas {
  readonly issuer: string;
  readonly api: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  /** Refresh grants answered with tokens, and refused with invalid_grant (a reuse among them). */
  readonly counts: { refreshed: number; refusedInvalidGrant: number; revoked: number; codeExchanged: number };
  /** Makes every token request wait this long first (a slow SaaS). */
  setDelayMs(ms: number): void;
  close(): Promise<void>;
}

export const SAAS_USERS: Readonly<Record<string, string>> = { alice: 'alice-saas-password', bob: 'bob-saas-password', carol: 'carol-saas-password', dave: 'dave-saas-password' };

const escape = (s: string) => s.replace(/[&<>"']/gu, (c) => `&#${String(c.charCodeAt(0))};`);

function page(ctx: Context, title: string, body: string): void {
  ctx.type = 'text/html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`;
}

async function form(ctx: Context): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export async function startVaultSaas(opts: { redirectUris: readonly string[]; accessTokenTtlSeconds?: number; rotate?: boolean; revocation?: boolean }): Promise<VaultSaas> {
  const { server, port } = await listen(undefined, '127.0.0.1', 0);
  const issuer = `http://127.0.0.1:${String(port)}`;
  const api = `${issuer}/api`;
  const scopes = ['crm.read', 'crm.write'];
  const clientId = 'broker-vault';
  const clientSecret = `saas-secret-${randomUUID()}`;
  const counts = { refreshed: 0, refusedInvalidGrant: 0, revoked: 0, codeExchanged: 0 };
  let delayMs = 0;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const resourceServer = { scope: scopes.join(' '), audience: api, accessTokenTTL: opts.accessTokenTtlSeconds ?? 600, accessTokenFormat: 'opaque' as const };

  const provider = new Provider(issuer, {
    // oidc-provider's own memory adapter: sessions by uid and revocation of a whole grant (reuse detection) work.
    clients: [{
      client_id: clientId, client_secret: clientSecret, token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [...opts.redirectUris], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
    }],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'saas', alg: 'ES256', use: 'sig' }] },
    scopes: ['openid', 'offline_access'],
    pkce: { required: () => true },
    rotateRefreshToken: opts.rotate ?? true,
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    findAccount: (_ctx, sub) => (Object.hasOwn(SAAS_USERS, sub) ? { accountId: sub, claims: () => ({ sub }) } : undefined),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: opts.revocation ?? true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => api,
        useGrantedResource: () => true,
        getResourceServerInfo: () => resourceServer,
      },
    },
    ttl: { AccessToken: opts.accessTokenTtlSeconds ?? 600, RefreshToken: 86_400, Grant: 86_400, Session: 3600, Interaction: 600 },
  });
  provider.proxy = false;
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const grantType = ctx.oidc.params?.grant_type;
    if (grantType === 'refresh_token') counts.refreshed += 1;
    if (grantType === 'authorization_code') counts.codeExchanged += 1;
  });
  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: { error?: string }) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token' && err.error === 'invalid_grant') counts.refusedInvalidGrant += 1;
  });
  provider.use(async (ctx, next) => {
    if (delayMs > 0 && ctx.path === '/token') await new Promise((r) => setTimeout(r, delayMs));
    await next();
    if (ctx.path === '/token/revocation' && ctx.status === 200) counts.revoked += 1;
  });

  const router = new Router();
  router.get('/interaction/:uid', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const uid = escape(details.uid);
    if (details.prompt.name === 'login') {
      page(ctx, 'Sign in to the sample SaaS', `<form method="post" action="/interaction/${uid}/login">
<label>Username <input name="username" id="username" autocomplete="off"></label>
<label>Password <input name="password" id="password" type="password"></label>
<button type="submit" id="sign-in">Sign in</button></form>`);
      return;
    }
    const asked = (typeof details.params.scope === 'string' ? details.params.scope : '');
    page(ctx, 'Allow access', `<p>The token broker asks for: <span id="scopes">${escape(asked)}</span></p>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit" id="allow">Allow</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit" id="deny">Deny</button></form>`);
  });
  router.post('/interaction/:uid/login', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const body = await form(ctx);
    const username = body.get('username') ?? '';
    if (!Object.hasOwn(SAAS_USERS, username) || SAAS_USERS[username] !== body.get('password')) {
      ctx.status = 401;
      page(ctx, 'Sign in to the sample SaaS', `<p id="error">wrong username or password</p><a href="/interaction/${escape(details.uid)}">again</a>`);
      return;
    }
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
    ctx.respond = false;
  });
  router.post('/interaction/:uid/confirm', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const accountId = details.session?.accountId;
    const clientIdAsked = details.params.client_id;
    if (typeof accountId !== 'string' || typeof clientIdAsked !== 'string') {
      ctx.status = 400;
      page(ctx, 'No session', '<p>sign in first</p>');
      return;
    }
    const existing = typeof details.grantId === 'string' ? await provider.Grant.find(details.grantId) : undefined;
    const grant = existing ?? new provider.Grant({ accountId, clientId: clientIdAsked });
    const asked = (typeof details.params.scope === 'string' ? details.params.scope : '').split(' ').filter((s) => scopes.includes(s));
    grant.addResourceScope(api, asked.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    ctx.respond = false;
  });
  router.post('/interaction/:uid/abort', async (ctx) => {
    await provider.interactionFinished(ctx.req, ctx.res, { error: 'access_denied', error_description: 'the user denied access' }, { mergeWithLastSubmission: false });
    ctx.respond = false;
  });
  provider.use(router.routes());
  serve(server, provider.callback());
  return {
    issuer, api, clientId, clientSecret, scopes, counts,
    setDelayMs: (ms) => { delayMs = ms; },
    close: () => close(server),
  };
}
