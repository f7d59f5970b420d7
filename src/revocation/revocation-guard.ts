/**
 * Who may revoke at `/revoke`, and how often: the decision is pure (`revocationRefusal`), the shell reads the
 * agent's status and its rate-limit window and attributes every refusal.
 * Each refusal is a denial of the exchange's reason table, with the same OAuth error and status:
 *   suspended agent -> 400 unauthorized_client (reason agent_suspended): it may not use the endpoint now
 *   revoked agent   -> 401 invalid_client (reason agent_revoked; RFC 6749 §5.2: its credentials no longer
 *                      authenticate it)
 *   over the limit  -> 429 temporarily_unavailable with Retry-After (reason rate_limited), counted toward
 *                      the kill switch's rate-limit trigger like a rate-limited exchange
 *   state unknown   -> 503 temporarily_unavailable (reason state_unavailable): fail closed
 */
import { randomUUID } from 'node:crypto';
import type { AgentStatusOverride, SharedState } from '../state/shared-state.js';
import type { AgentStatusView } from '../state/agent-status.js';
import type { AdminActionRecord } from '../admin/admin-record.js';
import { adminRecord } from '../admin/admin-record.js';
import type { ExchangeRecord } from '../attribution/record.js';
import { denialStatus, deny, type Denial } from '../exchange/reasons.js';

export interface RevocationGuardDeps {
  readonly state: SharedState;
  readonly agentStatus: AgentStatusView;
  /** Revocations per agent per window (default 60 per minute). */
  readonly rateLimit?: { readonly limit: number; readonly windowMs: number };
  readonly record: (record: AdminActionRecord) => Promise<void>;
  /** The kill switch's observer: a rate-limited revocation counts like a rate-limited exchange. */
  readonly observe?: (record: ExchangeRecord) => void;
}

export const DEFAULT_REVOKE_RATE_LIMIT = { limit: 60, windowMs: 60_000 } as const;

export type RevocationRefusalReason = 'agent_suspended' | 'agent_revoked' | 'rate_limited' | 'state_unavailable';

/** A denial of the reason table (src/exchange/reasons.ts): its OAuth error and status are the exchange's. */
export interface RevocationRefusal extends Denial {
  readonly reason: RevocationRefusalReason;
  readonly status: number;
  readonly retryAfterSeconds?: number;
}

function refusal(reason: RevocationRefusalReason, description: string, retryAfterSeconds?: number): RevocationRefusal {
  return { ...deny(reason, description), reason, status: denialStatus(reason), ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
}

/** Pure: the refusal for an agent's status and its count in the current window, or undefined. */
export function revocationRefusal(status: AgentStatusOverride | null, count: number | undefined, limit: { readonly limit: number; readonly windowMs: number }): RevocationRefusal | undefined {
  if (status?.status === 'revoked') return refusal('agent_revoked', 'agent identity has been revoked');
  if (status?.status === 'suspended') return refusal('agent_suspended', 'agent is suspended');
  if (count !== undefined && count > limit.limit) {
    return refusal('rate_limited', 'too many revocations by this agent; slow down', Math.ceil(limit.windowMs / 1000));
  }
  return undefined;
}

const UNAVAILABLE: RevocationRefusal = refusal('state_unavailable', 'the agent status cannot be checked right now; try again', 1);

export async function guardRevocation(deps: RevocationGuardDeps, call: { clientId: string; requestId: string; callerAddress: string; nowMs: number }): Promise<RevocationRefusal | undefined> {
  const limit = deps.rateLimit ?? DEFAULT_REVOKE_RATE_LIMIT;
  let refusal: RevocationRefusal | undefined;
  try {
    const status = await deps.agentStatus.recent(call.clientId);
    refusal = revocationRefusal(status, status ? undefined : await deps.state.hit(`revoke:${call.clientId}`, limit.windowMs, call.nowMs), limit);
  } catch {
    refusal = UNAVAILABLE;
  }
  if (!refusal) return undefined;
  // Attributed: who was refused, why, for which request (admin_action records are the revocation trail).
  await deps.record(adminRecord({
    nowMs: call.nowMs, action: 'revoke.token.refused', by: `agent:${call.clientId}`,
    target: { kind: 'agent', value: call.clientId }, reason: refusal.reason, decision: 'denied', request_id: call.requestId, caller: { address: call.callerAddress },
  })).catch(() => undefined);
  if (refusal.reason === 'rate_limited') {
    deps.observe?.({
      v: 1, type: 'token_exchange', id: randomUUID(), time: new Date(call.nowMs).toISOString(), request_id: call.requestId,
      decision: 'denied', reason: 'rate_limited', error: refusal.error, agent: { client_id: call.clientId, authenticated: true }, caller: { address: call.callerAddress },
    });
  }
  return refusal;
}
