/**
 * DEVELOPMENT SAMPLE: a tiny CRM tool server protected by the validation SDK. It shows the other half of the
 * contract: a broker token with the right scope is necessary, not sufficient — the tool still applies its
 * own permissions for the user in `sub` (alice may read and edit account A; nobody may touch account B).
 */
import Router from '@koa/router';
import Koa from 'koa';
import { authenticate, protectedResourceMetadata, requireScope, type TokenValidator, type ValidatedToken } from '../sdk/validator/index.js';

const ACCOUNTS: Readonly<Record<string, { readonly name: string; readonly owners: readonly string[] }>> = {
  A: { name: 'Acme Corp', owners: ['alice'] },
  B: { name: 'Globex', owners: ['dave'] },
};

export function sampleCrmApp(validator: TokenValidator, opts: { resource: string; issuer: string }): Koa {
  const app = new Koa();
  const router = new Router();
  router.get('/.well-known/oauth-protected-resource', protectedResourceMetadata({ ...opts, scopes: ['crm.accounts.read', 'crm.accounts.write'], dpop: { algorithms: validator.dpopAlgorithms } }));

  const mayAccess = (token: ValidatedToken, id: string): boolean => ACCOUNTS[id]?.owners.includes(token.sub) ?? false;

  router.get('/accounts/:id', authenticate(validator), requireScope('crm.accounts.read'), (ctx) => {
    const token = ctx.state.token as ValidatedToken;
    const account = ACCOUNTS[ctx.params.id ?? ''];
    if (!account || !mayAccess(token, ctx.params.id ?? '')) {
      ctx.status = 403;
      ctx.body = { error: 'forbidden', error_description: `${token.sub} may not see this account` };
      return;
    }
    ctx.body = { id: ctx.params.id, name: account.name, read_for: token.sub, via: token.actors };
  });

  router.post('/accounts/:id', authenticate(validator), requireScope('crm.accounts.write'), (ctx) => {
    const token = ctx.state.token as ValidatedToken;
    if (!mayAccess(token, ctx.params.id ?? '')) {
      ctx.status = 403;
      ctx.body = { error: 'forbidden', error_description: `${token.sub} may not edit this account` };
      return;
    }
    ctx.body = { id: ctx.params.id, updated_for: token.sub, via: token.actors };
  });

  app.use(router.routes());
  return app;
}
