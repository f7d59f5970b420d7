/** Attribution records for admin actions and automatic suspensions: same stream as exchanges, own type. */
import { randomUUID } from 'node:crypto';

export interface AdminActionRecord {
  readonly v: 1;
  readonly type: 'admin_action';
  readonly id: string;
  readonly time: string;
  readonly request_id: string;
  /** e.g. agent.suspend, agent.reinstate, agent.revoke, revoke.user, revoke.tool, revoke.token */
  readonly action: string;
  /** Who acted: the admin key id, or `kill-switch:<trigger>`. */
  readonly by: string;
  readonly target: { readonly kind: string; readonly value: string };
  readonly reason: string;
  /** Present on refusals only (e.g. `revoke.token.refused`): then `reason` is the reason code. */
  readonly decision?: 'denied';
  readonly caller: { readonly address: string };
  /** Present when the action changes what another operator or the kill switch did: whose action, and what it was. */
  readonly override?: OverriddenAction;
}

export interface OverriddenAction { readonly by: string; readonly status: string; readonly at: number }

export function adminRecord(fields: Omit<AdminActionRecord, 'v' | 'type' | 'id' | 'time'> & { nowMs: number }): AdminActionRecord {
  const { nowMs, ...rest } = fields;
  return { v: 1, type: 'admin_action', id: randomUUID(), time: new Date(nowMs).toISOString(), ...rest };
}
