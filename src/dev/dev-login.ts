/**
 * DEVELOPMENT ONLY. The login page of the development identity provider (oidc-provider interactions):
 * a username/password form for the demo users, then the login is handed back to oidc-provider, which
 * finishes the authorization code flow. The broker console is a first-party client: its consent is implied
 * (dev-identity-provider.ts `loadExistingGrant`).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Provider, KoaContextWithOIDC } from '../provider/oidc-provider.js';
import type { DemoUser } from './demo-users.js';

export const INTERACTION_PREFIX = '/interaction/';
const MAX_FORM_BYTES = 4096;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/gu, (c) => `&#${String(c.charCodeAt(0))};`);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function passwordMatches(user: DemoUser | undefined, presented: string): boolean {
  const expected = Buffer.from(user?.password ?? '\u0000no-password');
  const given = Buffer.from(presented);
  return user?.password !== undefined && expected.length === given.length && timingSafeEqual(expected, given);
}

const STYLE = 'body{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.75rem 0 .25rem}input{font:inherit;width:100%;padding:.5rem;box-sizing:border-box}button{font:inherit;margin-top:1rem;padding:.5rem 1rem}.error{color:#a00}.hint{color:#555;font-size:.9rem}';

function loginPage(uid: string, users: readonly DemoUser[], error?: string): string {
  const hint = users.filter((u) => u.password !== undefined).map((u) => `${escapeHtml(u.username)} / ${escapeHtml(u.password ?? '')}`).join(', ');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Sign in: development identity provider</title><link rel="icon" href="data:,"><style>${STYLE}</style></head><body><main>
<h1>Sign in</h1><p class="hint">Development identity provider (never for production). Demo users: ${hint}.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${INTERACTION_PREFIX}${escapeHtml(uid)}/login" autocomplete="off">
<label for="username">Username</label><input id="username" name="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" required>
<button type="submit">Sign in</button></form></main></body></html>`;
}

/** Koa middleware for the interaction routes: GET the form, POST the credentials. */
export function devLoginRoutes(provider: Provider, users: ReadonlyMap<string, DemoUser>) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    if (!ctx.path.startsWith(INTERACTION_PREFIX)) {
      await next();
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    // The page runs nothing and cannot be framed; its one stylesheet is inline.
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'");
    const [uid = '', action] = ctx.path.slice(INTERACTION_PREFIX.length).split('/');
    try {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.uid !== uid) throw new Error('interaction mismatch');
      if (ctx.method === 'GET' && action === undefined) {
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = loginPage(uid, [...users.values()]);
        return;
      }
      if (ctx.method === 'POST' && action === 'login') {
        const form = await readForm(ctx.req);
        const user = users.get(form.get('username') ?? '');
        if (!passwordMatches(user, form.get('password') ?? '') || !user) {
          ctx.status = 401;
          ctx.type = 'text/html; charset=utf-8';
          ctx.body = loginPage(uid, [...users.values()], 'Unknown user or wrong password.');
          return;
        }
        await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
        ctx.respond = false;
        return;
      }
      ctx.status = 405;
    } catch {
      ctx.status = 400;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'This sign-in has expired or is not valid: start again from the application.';
    }
  };
}
