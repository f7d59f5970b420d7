/**
 * `GET /admin/config/reload`: the set in force and the last reload attempt (any admin key; what the console
 * shows). `POST /admin/config/reload`: reload now (an operator key; attributed to it). Errors are written by
 * the one OAuth-style renderer (http/oauth-error.ts).
 */
import type { Context, Next } from 'koa';
import type { AdminCaller } from '../admin/admin-auth.js';
import { renderOAuthError, setNoStore } from '../http/oauth-error.js';
import { requestIdFrom } from '../http/request-id.js';
import type { Reloader } from './reloader.js';

export const RELOAD_PATH = '/admin/config/reload';

export function reloadRoutes(reloader: Reloader, authenticate: (authorization: string | undefined, callerAddress: string) => Promise<AdminCaller | undefined>) {
  return async function reloadEndpoint(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== RELOAD_PATH) {
      await next();
      return;
    }
    const caller = await authenticate(ctx.get('authorization') || undefined, ctx.ip);
    if (!caller) {
      renderOAuthError(ctx, { status: 401, error: 'invalid_token', description: 'a valid admin key is required', headers: { 'WWW-Authenticate': 'Bearer realm="admin"' } });
      return;
    }
    if (ctx.method === 'GET' || ctx.method === 'HEAD') {
      setNoStore(ctx);
      ctx.body = reloader.status();
      return;
    }
    if (ctx.method !== 'POST') {
      renderOAuthError(ctx, { status: 405, error: 'invalid_request', description: 'GET the reload status or POST to reload', headers: { Allow: 'GET, HEAD, POST' } });
      return;
    }
    // RFC 6750 §3.1: a viewer key lacks the scope to change state.
    if (caller.role !== 'operator') {
      renderOAuthError(ctx, { status: 403, error: 'insufficient_scope', description: 'reloading needs an operator key', headers: { 'WWW-Authenticate': 'Bearer realm="admin", error="insufficient_scope"' } });
      return;
    }
    const result = await reloader.reload({ by: caller.id, requestId: requestIdFrom(ctx.get('x-request-id') || undefined), callerAddress: ctx.ip });
    setNoStore(ctx);
    ctx.status = result.ok ? 200 : 422;
    ctx.body = result;
  };
}
