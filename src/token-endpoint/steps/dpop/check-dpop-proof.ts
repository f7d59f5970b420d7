/**
 * The DPoP step of a token request (RFC 9449 §5): an agent that sends a `DPoP` header gets a token bound
 * to the proof's key (`cnf.jkt`, `token_type: DPoP`) if the proof is valid and used for the first time
 * on any replica; an agent registered with `dpop: required` must send one. oidc-provider's own DPoP
 * feature stays off: the grant is the broker's, and so is this check (src/dpop/verify-dpop-proof.ts).
 */
import { createHash } from 'node:crypto';
import type { Agent } from '../../../domain/agent.js';
import { dpopHeader } from '../../../dpop/dpop-header.js';
import { DPOP_MAX_AGE_SECONDS, dpopReplayWindowMs, verifyDpopProof } from '../../../dpop/verify-dpop-proof.js';
import { deny, type Denial } from '../../../exchange/reasons.js';
import type { SharedState } from '../../../state/shared-state.js';

export interface DpopStepInput {
  /** The request's raw header lines (repeated headers stay separate). */
  readonly rawHeaders: readonly string[];
  readonly method: string;
  readonly agent: Agent;
  /** The token endpoint's URL as agents address it: the issuer + `/token`. */
  readonly tokenEndpoint: string;
  readonly state: SharedState;
  readonly nowMs: number;
  readonly clockSkewSeconds: number;
}

/** The thumbprint to bind the token to (undefined: a Bearer token), or why the request is refused. */
export async function checkDpop(input: DpopStepInput): Promise<{ readonly jkt: string | undefined } | Denial> {
  const header = dpopHeader(input.rawHeaders);
  if (header.kind === 'several') return deny('dpop_proof_invalid', 'exactly one DPoP header is allowed');
  if (header.kind === 'none') {
    return input.agent.dpop === 'required'
      ? deny('dpop_proof_required', 'this agent must send a DPoP proof with every token request')
      : { jkt: undefined };
  }
  const result = await verifyDpopProof(header.value, {
    method: input.method,
    url: input.tokenEndpoint,
    nowMs: input.nowMs,
    clockSkewSeconds: input.clockSkewSeconds,
  });
  if (!result.ok) return deny('dpop_proof_invalid', result.problem);
  // One use per proof, on every replica; keyed by the proof key so nobody can burn another agent's jti.
  const jtiHash = createHash('sha256').update(result.proof.jti).digest('base64url');
  let first: boolean;
  try {
    first = await input.state.claimOnce(`dpop:${result.proof.jkt}:${jtiHash}`, dpopReplayWindowMs(DPOP_MAX_AGE_SECONDS, input.clockSkewSeconds));
  } catch {
    return deny('state_unavailable', 'the DPoP replay cache cannot be checked right now; try again later');
  }
  if (!first) return deny('dpop_proof_replayed', 'the DPoP proof has already been used (jti replayed)');
  return { jkt: result.proof.jkt };
}
