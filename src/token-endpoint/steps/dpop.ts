/**
 * Step `dpop` (RFC 9449 §5): an agent that sends a `DPoP` header gets a token bound to the proof's key
 * (`cnf.jkt`, `token_type: DPoP`) if the proof is valid and used for the first time on any replica; an agent
 * registered with `dpop: required` must send one (dpop/check-dpop-proof.ts).
 */
import type { SharedState } from '../../state/shared-state.js';
import { isDenial } from '../../exchange/reasons.js';
import { defineStep } from '../pipeline/step.js';
import { checkDpop } from './dpop/check-dpop-proof.js';

export interface DpopDeps {
  /** The token endpoint URL agents address (the proof's `htu`). */
  readonly tokenEndpoint: string;
  /** Tolerance on proofs' `iat`. */
  readonly clockSkewSeconds: number;
  /** The replay cache of proofs, shared by every replica. */
  readonly state: SharedState;
  readonly now: () => number;
}

export const dpop = defineStep<DpopDeps, 'agent'>('dpop', ['agent'], async (facts, req, deps) => {
  const checked = await checkDpop({
    rawHeaders: req.rawHeaders, method: req.method, agent: facts.agent, tokenEndpoint: deps.tokenEndpoint,
    state: deps.state, nowMs: deps.now(), clockSkewSeconds: deps.clockSkewSeconds,
  });
  if (isDenial(checked)) return checked;
  return checked.jkt === undefined ? {} : { dpopJkt: checked.jkt };
});
