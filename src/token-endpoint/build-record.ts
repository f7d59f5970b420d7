/** Turns what one token request established (pipeline/facts.ts) into its attribution record. */
import { randomUUID } from 'node:crypto';
import { chainActors } from '../exchange/act-chain.js';
import type { Denial, DenialReason } from '../exchange/reasons.js';
import { RECORD_SCHEMA_VERSION, type ExchangeRecord } from '../attribution/record.js';
import type { MintedToken } from '../minting/mint-access-token.js';
import type { Facts } from './pipeline/facts.js';

/** The facts a record is made of (never the token itself), and the denial, if the request was refused. */
export type RecordInput = Pick<Facts, 'requestId' | 'traceId' | 'request' | 'tool' | 'subject' | 'subjectFingerprint' | 'actorFingerprint' | 'dpopJkt' | 'grant' | 'onward' | 'stage' | 'budget'> & {
  readonly minted?: Omit<MintedToken, 'token'>;
  readonly denial?: Denial;
};

export interface RecordContext {
  readonly nowMs: number;
  readonly callerAddress: string;
  readonly agent: { readonly clientId: string | null; readonly authenticated: boolean };
}

export type Outcome =
  | { readonly decision: 'granted' }
  | { readonly decision: 'denied'; readonly reason: DenialReason; readonly error: string };

function onwardFields(o: NonNullable<RecordInput['onward']>): NonNullable<ExchangeRecord['onward']> {
  return {
    ...(o.actors ? { actors: o.actors } : {}),
    ...(o.cached !== undefined ? { cached: o.cached } : {}),
    ...(o.connector ? { connector: o.connector } : {}),
    ...(o.credential_sha256 ? { credential_sha256: o.credential_sha256 } : {}),
    ...(o.delivered_to ? { delivered_to: o.delivered_to } : {}),
    ...(o.subject_jti ? { subject_jti: o.subject_jti } : {}),
    ...(o.upstream ? { upstream: o.upstream } : {}),
    ...(o.upstream_scopes ? { upstream_scopes: o.upstream_scopes } : {}),
  };
}

export function buildExchangeRecord(state: RecordInput, outcome: Outcome, rc: RecordContext): ExchangeRecord {
  const { grant, minted, subject, tool } = state;
  const onward = state.onward;
  const granted = outcome.decision === 'granted' && ((grant !== undefined && minted !== undefined) || onward?.granted === true);
  const scopes = grant ? grant.scopes : state.denial?.scopes ?? (state.request ? { requested: state.request.scopes, granted: [], dropped: [] } : undefined);
  // Members in canonical (sorted) order at every level: the sink then serialises the record with one
  // JSON.stringify instead of sorting it (canonical-json.ts); test/token-endpoint/build-record.test.ts holds it.
  return {
    ...(state.actorFingerprint ? { actor_token_sha256: state.actorFingerprint } : {}),
    ...(grant ? { actors: chainActors(grant.act) } : {}),
    agent: { authenticated: rc.agent.authenticated, client_id: rc.agent.clientId },
    ...(state.budget ? { budget: { limit: state.budget.limit, metric: state.budget.metric, name: state.budget.name, requested: state.budget.requested, used: state.budget.used } } : {}),
    caller: { address: rc.callerAddress },
    decision: granted ? 'granted' : 'denied',
    ...(outcome.decision === 'denied' ? { error: outcome.error } : {}),
    id: randomUUID(),
    // Issue 17: sorted members, as everywhere in the record (canonical order).
    ...(onward ? { onward: onwardFields(onward) } : {}),
    reason: outcome.decision === 'granted' ? 'granted' : outcome.reason,
    request_id: state.requestId,
    ...(scopes
      ? { scopes: { dropped: scopes.dropped.map((d) => ({ reason: d.reason, scope: d.scope })), granted: scopes.granted, requested: scopes.requested } }
      : {}),
    ...(state.stage !== undefined ? { stage: state.stage } : {}),
    ...(state.subjectFingerprint ? { subject_token_sha256: state.subjectFingerprint } : {}),
    time: new Date(rc.nowMs).toISOString(),
    ...(granted && grant && minted ? { token: { ...(state.dpopJkt !== undefined ? { dpop_jkt: state.dpopJkt } : {}), exp: minted.exp, jti: minted.jti, lifetime_bound_by: grant.lifetimeBoundBy } } : {}),
    ...(tool ? { tool: { id: tool.id, resource: tool.resource } } : {}),
    ...(state.traceId ? { trace_id: state.traceId } : {}),
    type: 'token_exchange',
    ...(subject ? { user: { iss: subject.iss, sub: subject.sub } } : {}),
    v: RECORD_SCHEMA_VERSION,
  };
}
