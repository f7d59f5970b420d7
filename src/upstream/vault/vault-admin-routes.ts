/**
 * The vault's admin action: `POST /admin/vault/reencrypt` (operator key, JSON `{ "reason": "..." }`) seals
 * every connection not under the active vault key again under it, and answers how many; once `unreadable`
 * is 0 and the report's `reencrypted` + `current` cover every entry, the old key can be retired
 * (`broker vault-key retire <kid>`). Attributed like every admin action, before it runs.
 */
import Router from '@koa/router';
import type { AdminCaller } from '../../admin/admin-auth.js';
import { adminRecord, type AdminActionRecord } from '../../admin/admin-record.js';
import { renderOAuthError, setNoStore } from '../../http/oauth-error.js';
import { requestIdFrom } from '../../http/request-id.js';
import type { Vault } from './vault.js';

export const VAULT_REENCRYPT_PATH = '/admin/vault/reencrypt';
const MAX_BODY_BYTES = 4096;

export function vaultAdminRouter(opts: {
  readonly vault: Vault;
  readonly authenticate: (authorization: string | undefined, callerAddress: string) => Promise<AdminCaller | undefined>;
  readonly record: (record: AdminActionRecord) => Promise<void>;
  readonly now?: () => number;
}): Router {
  const router = new Router();
  router.post(VAULT_REENCRYPT_PATH, async (ctx) => {
    const caller = await opts.authenticate(ctx.get('authorization') || undefined, ctx.ip);
    if (!caller) {
      renderOAuthError(ctx, { status: 401, error: 'invalid_token', description: 'an admin key is required', headers: { 'WWW-Authenticate': 'Bearer' } });
      return;
    }
    if (caller.role !== 'operator') {
      renderOAuthError(ctx, { status: 403, error: 'insufficient_scope', description: 're-encrypting the vault needs an operator key' });
      return;
    }
    let reason: unknown;
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) throw new Error('too large');
        chunks.push(chunk);
      }
      reason = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { reason?: unknown }).reason;
    } catch {
      reason = undefined;
    }
    if (!ctx.is('application/json') || typeof reason !== 'string' || reason.trim() === '' || reason.length > 500) {
      renderOAuthError(ctx, { status: 400, error: 'invalid_request', description: 'a JSON body with a reason (1-500 characters) is required' });
      return;
    }
    await opts.record(adminRecord({
      nowMs: (opts.now ?? Date.now)(), action: 'vault.reencrypt', by: caller.id, target: { kind: 'vault', value: 'all' },
      reason: reason.trim(), request_id: requestIdFrom(ctx.get('x-request-id') || undefined), caller: { address: ctx.ip },
    }));
    const result = await opts.vault.reencryptAll();
    setNoStore(ctx);
    ctx.body = result;
  });
  return router;
}
