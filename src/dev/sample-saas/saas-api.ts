/**
 * DEVELOPMENT SAMPLE. The sample SaaS's API: it accepts only tokens its own authorization server issued
 * (its own keys, its own issuer, its API as audience, `typ: at+jwt` — RFC 9068 §4) and applies its own
 * per-user rules (saas-users.ts) on top of the token's scopes. A broker token is refused here.
 */
import Router, { type RouterMiddleware } from '@koa/router';
import type Koa from 'koa';
import { errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { findSaasUser, SAAS_ACCOUNTS, type SaasUser } from './saas-users.js';

export interface SaasApiOptions {
  readonly issuer: string;
  readonly apiResource: string;
  readonly keys: JWTVerifyGetKey;
  readonly users: readonly SaasUser[];
}

interface Caller { readonly user: SaasUser; readonly scopes: readonly string[] }

function challenge(ctx: Koa.Context, status: number, error: string, description: string, scope?: string): void {
  ctx.status = status;
  ctx.set('WWW-Authenticate', `Bearer error="${error}"${scope ? `, scope="${scope}"` : ''}`);
  ctx.body = { error, error_description: description };
}

async function authenticateCaller(ctx: Koa.Context, opts: SaasApiOptions): Promise<Caller | undefined> {
  const header = ctx.get('authorization');
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
  if (!match?.[1]) {
    challenge(ctx, 401, 'invalid_token', 'a bearer token from this service is required');
    return undefined;
  }
  try {
    const { payload } = await jwtVerify(match[1], opts.keys, { issuer: opts.issuer, audience: opts.apiResource, typ: 'at+jwt', algorithms: ['ES256'] });
    const user = findSaasUser(opts.users, String(payload.sub));
    if (!user) {
      challenge(ctx, 401, 'invalid_token', 'unknown user');
      return undefined;
    }
    return { user, scopes: typeof payload.scope === 'string' ? payload.scope.split(' ') : [] };
  } catch (error) {
    if (!(error instanceof joseErrors.JOSEError)) throw error;
    challenge(ctx, 401, 'invalid_token', 'this service accepts only its own tokens');
    return undefined;
  }
}

export function saasApiRoutes(opts: SaasApiOptions): Router {
  const router = new Router({ prefix: '/api' });

  const handle = (scope: string, mayDo: (u: SaasUser, id: string) => boolean, act: (id: string, u: SaasUser) => object): RouterMiddleware => async (ctx) => {
    const caller = await authenticateCaller(ctx, opts);
    if (!caller) return;
    if (!caller.scopes.includes(scope)) {
      challenge(ctx, 403, 'insufficient_scope', `this token lacks ${scope}`, scope);
      return;
    }
    const id = ctx.params.id ?? '';
    if (!SAAS_ACCOUNTS[id]) {
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: 'no such account' };
      return;
    }
    if (!mayDo(caller.user, id)) {
      ctx.status = 403;
      ctx.body = { error: 'forbidden', error_description: `${caller.user.id} may not ${scope === 'accounts:read' ? 'read' : 'change'} account ${id} here` };
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = act(id, caller.user);
  };

  router.get('/accounts/:id', handle('accounts:read', (u, id) => u.read.includes(id), (id, u) => ({ id, name: SAAS_ACCOUNTS[id]?.name, read_by: u.id })));
  router.post('/accounts/:id', handle('accounts:write', (u, id) => u.write.includes(id), (id, u) => ({ id, updated_by: u.id })));
  return router;
}
