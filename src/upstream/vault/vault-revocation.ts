/**
 * The vault follows the broker's revocations (issue 17): a person revoking the user deletes every
 * connection of that user, revoking the agent deletes every connection its exchanges used (each revoked
 * at the SaaS, RFC 7009, where offered); suspending an agent or revoking a tool drops the cached access
 * tokens, so none outlives the revocation. Wired by wrapping the admin actions, as the kill switch's
 * window reset does: `actions = purgeVaultOnRevocation(actions, vault)` in create-broker.ts.
 */
import { AdminActionError, type ActionContext, type AdminActions } from '../../admin/admin-actions.js';
import type { Vault } from './vault.js';
import type { VaultActor } from './vault-record.js';

function actorOf(ctx: ActionContext): VaultActor {
  return { by: ctx.by, reason: ctx.reason, requestId: ctx.requestId, callerAddress: ctx.callerAddress };
}

/** The revocation stands; say precisely what did not happen, as the admin actions do for their second write. */
async function alsoInVault(what: string, step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch {
    throw new AdminActionError('state_unavailable', `${what} is in effect, but the user's SaaS connections could not all be removed (the vault is unavailable); repeat the action`);
  }
}

export function purgeVaultOnRevocation(actions: AdminActions, vault: Vault): AdminActions {
  return {
    ...actions,
    async agent(action, clientId, ctx) {
      const result = await actions.agent(action, clientId, ctx);
      if (action === 'revoke') await alsoInVault('the revocation of the agent', () => vault.purgeAgent(clientId, actorOf(ctx)));
      if (action === 'suspend') await alsoInVault('the suspension of the agent', () => vault.dropCached({ agent: clientId }));
      return result;
    },
    async revoke(kind, value, ctx, token) {
      const rule = await actions.revoke(kind, value, ctx, token);
      if (kind === 'user') await alsoInVault('the revocation of the user', () => vault.purgeUser(value, actorOf(ctx)));
      if (kind === 'tool') await alsoInVault('the revocation of the tool', () => vault.dropCached({ tool: value }));
      return rule;
    },
  };
}
