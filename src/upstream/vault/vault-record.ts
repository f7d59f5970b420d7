/** Attribution records of the vault's actions: same stream and shape as admin actions, never a token. */
import { adminRecord, type AdminActionRecord } from '../../admin/admin-record.js';
import type { ConnectionId } from './vault-store.js';

/** Who acted: the user themselves (connect, disconnect) or a person revoking (purge). */
export interface VaultActor {
  readonly by: string;
  readonly reason: string;
  readonly requestId: string;
  readonly callerAddress: string;
}

export function vaultRecord(action: string, id: ConnectionId, actor: VaultActor, nowMs: number): AdminActionRecord {
  return adminRecord({
    nowMs, action, by: actor.by, reason: actor.reason, request_id: actor.requestId, caller: { address: actor.callerAddress },
    target: { kind: 'connection', value: JSON.stringify({ user: id.user, tool: id.tool, upstream: id.upstream }) },
  });
}
