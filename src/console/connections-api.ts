/**
 * Users' upstream connections in the console (issue 17's vault): a signed-in person sees and may disconnect
 * their own; an operator looks any user up and disconnects with a reason (support, offboarding, a suspected
 * leak). Disconnecting is the vault's own (vault.ts `disconnect`): deleted here, revoked at the SaaS
 * (RFC 7009) where it offers that, recorded as `vault.disconnect` by `person:<sub>`. Someone who is neither
 * the user nor an operator is refused (403) and the refusal is recorded as a denied admin action.
 */
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { adminRecord, type AdminActionRecord } from '../admin/admin-record.js';
import { hasRole } from '../sign-in/index.js';
import type { Vault } from '../upstream/vault/vault.js';
import { actionContext, ConsoleError, personOf, readJson, reasonOf } from './console-http.js';

export interface ConsoleConnectionsDeps {
  /** Absent: no catalog tool has a `vault` upstream (the page says so). */
  readonly vault?: Vault;
  readonly record: (record: AdminActionRecord) => Promise<void>;
  readonly now: () => number;
}

const USER = /^[\x21-\x7E]{1,256}$/u;

/** The user whose connections are asked for: one's own unless an operator names another. */
function userOf(ctx: Context, value: unknown): { user: string; own: boolean } {
  const person = personOf(ctx);
  if (value === undefined || value === '' || value === person.sub) return { user: person.sub, own: true };
  if (typeof value !== 'string' || !USER.test(value)) throw new ConsoleError(400, 'invalid_request', 'user must be a subject identifier');
  return { user: value, own: false };
}

export function connectionRoutes(router: Router, viewer: Middleware, deps: ConsoleConnectionsDeps): void {
  const refuse = async (ctx: Context, action: string, user: string, tool: string): Promise<never> => {
    const c = actionContext(ctx, 'the operator role is required for another user\'s connections');
    await deps.record(adminRecord({
      nowMs: deps.now(), action, by: c.by, reason: c.reason, decision: 'denied', request_id: c.requestId, caller: { address: c.callerAddress },
      target: { kind: 'connection', value: JSON.stringify({ user, tool }) },
    }));
    throw new ConsoleError(403, 'insufficient_scope', 'another user\'s connections need the operator role');
  };

  router.get('/connections', viewer, async (ctx) => {
    const { user, own } = userOf(ctx, ctx.query.user);
    if (!deps.vault) {
      ctx.body = { available: false, user, connections: [] };
      return;
    }
    if (!own && !hasRole(personOf(ctx).roles, 'operator')) await refuse(ctx, 'vault.list', user, '*');
    ctx.body = { available: true, user, connections: await deps.vault.list(user) };
  });

  router.post('/connections/disconnect', viewer, async (ctx) => {
    const body = await readJson(ctx);
    const reason = reasonOf(body);
    const { user, own } = userOf(ctx, body.user);
    const { tool } = body;
    if (typeof tool !== 'string' || tool === '' || tool.length > 128) throw new ConsoleError(400, 'invalid_request', 'tool is required');
    if (!deps.vault) throw new ConsoleError(501, 'not_implemented', 'no tool of the catalog keeps connections (no vault upstream)');
    if (!own && !hasRole(personOf(ctx).roles, 'operator')) await refuse(ctx, 'vault.disconnect', user, tool);
    const outcome = await deps.vault.disconnect(tool, user, actionContext(ctx, own ? `disconnected by the user: ${reason}` : reason));
    if (!outcome.deleted) throw new ConsoleError(404, 'not_found', 'this user has no connection to this tool');
    ctx.body = { user, tool, disconnected: true, revoked_at_saas: outcome.revokedAtSaas };
  });
}
