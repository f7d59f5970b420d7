/**
 * DEVELOPMENT SAMPLE. The sample SaaS's login and consent pages (the authorization code + PKCE flow a user
 * goes through once to connect the SaaS). Plain HTML forms; the user logs in with the dev password from
 * saas-users.ts, then allows the scopes the client asked for.
 */
import Router from '@koa/router';
import { readFormBody } from './form-body.js';
import type { Provider } from '../../provider/oidc-provider.js';
import { findSaasUser, type SaasUser } from './saas-users.js';

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`;
}

export function interactionRoutes(provider: Provider, users: readonly SaasUser[]): Router {
  const router = new Router();
  // oidc-provider's errors (an expired or unknown interaction) thrown from these routes: a JSON OAuth error.
  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const e = error as { status?: number; error?: string; error_description?: string };
      if (typeof e.error !== 'string') throw error;
      ctx.status = e.status ?? 400;
      ctx.type = 'application/json';
      ctx.body = { error: e.error, error_description: e.error_description };
    }
  });

  router.get('/interaction/:uid', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const uid = escape(details.uid);
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    if (details.prompt.name === 'login') {
      const error = ctx.query.error === '1' ? '<p role="alert">Unknown user or wrong password.</p>' : '';
      ctx.body = page('Sample SaaS: sign in', `${error}<form method="post" action="/interaction/${uid}/login">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>`);
      return;
    }
    const clientId = String(details.params.client_id);
    const scopes = typeof details.params.scope === 'string' ? details.params.scope : '';
    ctx.body = page('Sample SaaS: allow access', `<p>${escape(clientId)} asks to act for you with: <code>${escape(scopes)}</code></p>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit" name="decision" value="allow">Allow</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit" name="decision" value="deny">Deny</button></form>`);
  });

  router.post('/interaction/:uid/login', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const form = await readFormBody(ctx.req);
    const user = findSaasUser(users, form.get('username') ?? '');
    if (!user || user.password !== form.get('password')) {
      ctx.redirect(`/interaction/${encodeURIComponent(details.uid)}?error=1`);
      return;
    }
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: user.id } }, { mergeWithLastSubmission: false });
    ctx.respond = false;
  });

  router.post('/interaction/:uid/confirm', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const accountId = details.session?.accountId;
    const clientId = String(details.params.client_id);
    if (!accountId || details.prompt.name !== 'consent') {
      ctx.status = 400;
      ctx.body = page('Sample SaaS', '<p>Nothing to confirm.</p>');
      return;
    }
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId });
    if (!grant) throw new Error('grant vanished');
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    ctx.respond = false;
  });

  router.post('/interaction/:uid/abort', async (ctx) => {
    await provider.interactionFinished(ctx.req, ctx.res, { error: 'access_denied', error_description: 'the user denied access' }, { mergeWithLastSubmission: false });
    ctx.respond = false;
  });

  return router;
}
