/** Turns what one token request established (ExchangeState) into its attribution record. */
import { randomUUID } from 'node:crypto';
import { chainActors } from '../exchange/act-chain.js';
import type { DenialReason } from '../exchange/reasons.js';
import { RECORD_SCHEMA_VERSION, type ExchangeRecord } from '../attribution/record.js';
import type { ExchangeState } from './exchange-state.js';

export interface RecordContext {
  readonly nowMs: number;
  readonly callerAddress: string;
  readonly agent: { readonly clientId: string | null; readonly authenticated: boolean };
}

export type Outcome =
  | { readonly decision: 'granted' }
  | { readonly decision: 'denied'; readonly reason: DenialReason; readonly error: string };

export function buildExchangeRecord(state: ExchangeState, outcome: Outcome, rc: RecordContext): ExchangeRecord {
  const { grant, minted, subject, tool } = state;
  const granted = outcome.decision === 'granted' && grant !== undefined && minted !== undefined;
  return {
    v: RECORD_SCHEMA_VERSION,
    type: 'token_exchange',
    id: randomUUID(),
    time: new Date(rc.nowMs).toISOString(),
    request_id: state.requestId,
    ...(state.traceId ? { trace_id: state.traceId } : {}),
    decision: granted ? 'granted' : 'denied',
    reason: outcome.decision === 'granted' ? 'granted' : outcome.reason,
    ...(outcome.decision === 'denied' ? { error: outcome.error } : {}),
    agent: { client_id: rc.agent.clientId, authenticated: rc.agent.authenticated },
    ...(subject ? { user: { iss: subject.iss, sub: subject.sub } } : {}),
    ...(grant ? { actors: chainActors(grant.act) } : {}),
    ...(tool ? { tool: { id: tool.id, resource: tool.resource } } : {}),
    ...(grant
      ? { scopes: grant.scopes }
      : state.denial?.scopes
        ? { scopes: state.denial.scopes }
        : state.request
          ? { scopes: { requested: state.request.scopes, granted: [], dropped: [] } }
          : {}),
    ...(granted ? { token: { jti: minted.jti, exp: minted.exp, lifetime_bound_by: grant.lifetimeBoundBy, ...(state.dpopJkt !== undefined ? { dpop_jkt: state.dpopJkt } : {}) } } : {}),
    ...(state.subjectFingerprint ? { subject_token_sha256: state.subjectFingerprint } : {}),
    ...(state.actorFingerprint ? { actor_token_sha256: state.actorFingerprint } : {}),
    caller: { address: rc.callerAddress },
  };
}
