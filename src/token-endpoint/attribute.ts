/**
 * Records the outcome of a token request, once: one attribution record per request, or, for a denial with
 * no authenticated agent, a count in its address's aggregate record (unauthenticated-denials.ts). A granted
 * token leaves only after its record is durable; if the record cannot be written the token is withheld and
 * the agent gets 503 temporarily_unavailable (fail closed). Returns the answer to render.
 */
import type { ExchangeRecord } from '../attribution/record.js';
import type { AttributionSink } from '../attribution/sink.js';
import { deny } from '../exchange/reasons.js';
import type { Logger } from '../log.js';
import { buildExchangeRecord, type Outcome as RecordOutcome, type RecordInput } from './build-record.js';
import type { Facts } from './pipeline/facts.js';
import type { Issued, Outcome } from './pipeline/runner.js';
import { refuse, type Refusal } from './pipeline/step.js';
import type { UnauthenticatedDenials } from './unauthenticated-denials.js';

export interface AttributeDeps {
  readonly sink: AttributionSink;
  readonly log: Logger;
  readonly now: () => number;
  /** Sees every exchange record once it is written (the kill switch). */
  readonly observe?: (record: ExchangeRecord) => void;
  /** Where denials without an authenticated agent are counted, instead of one record each. */
  readonly unauthenticated?: UnauthenticatedDenials;
}

const WITHHELD = refuse(deny('attribution_unavailable', 'the attribution log is unavailable; no token was issued'));

/** A refused request's record names no grant, even one decided (and minted) before a later step refused it. */
function refusedFacts(facts: Facts, refusal: Refusal): RecordInput {
  const { grant: _grant, minted: _minted, ...rest } = facts;
  return { ...rest, denial: refusal.denial };
}

export async function attribute(outcome: Outcome, callerAddress: string, deps: AttributeDeps): Promise<Issued | Refusal> {
  const { established: facts, result } = outcome;
  const authenticated = facts.agent !== undefined;
  const clientId = facts.agent?.clientId ?? facts.clientId ?? null;
  if (result.kind === 'refused' && !authenticated && deps.unauthenticated) {
    // No agent to attribute it to: counted in this address's aggregate record.
    deps.unauthenticated.add({ address: callerAddress, reason: result.denial.reason, clientId, atMs: deps.now() });
    return result;
  }
  const decision: RecordOutcome = result.kind === 'issued'
    ? { decision: 'granted' }
    : { decision: 'denied', reason: result.denial.reason, error: result.denial.error };
  const record = buildExchangeRecord(
    result.kind === 'refused' ? refusedFacts(facts, result) : facts,
    decision,
    { nowMs: deps.now(), callerAddress, agent: { clientId, authenticated } },
  );
  try {
    await deps.sink.append(record);
    deps.observe?.(record);
  } catch (err) {
    deps.log.error({ err, request_id: facts.requestId, decision: record.decision }, 'attribution record could not be written');
    // Fail closed: the token was minted but is never released without its record.
    if (result.kind === 'issued') return WITHHELD;
  }
  return result;
}
