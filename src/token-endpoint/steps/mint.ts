/**
 * Step `mint`: signs the decided grant (src/minting/, node:crypto's synchronous signer): RFC 9068 profile,
 * bound to the DPoP key when the request proved one. The token leaves only after step `re-check` and the
 * durable attribution record (token-endpoint.ts).
 */
import type { SigningKey } from '../../keys/signing-keys.js';
import { mintAccessToken } from '../../minting/mint-access-token.js';
import { defineStep } from '../pipeline/step.js';

export interface MintDeps {
  readonly issuer: string;
  readonly signingKey: () => SigningKey;
}

export const mint = defineStep<MintDeps, 'grant' | 'agent'>('mint', ['grant', 'agent'], (facts, _req, deps) => ({
  minted: mintAccessToken(facts.grant, facts.agent, deps.issuer, deps.signingKey(), {
    ...(facts.dpopJkt !== undefined ? { dpopJkt: facts.dpopJkt } : {}),
    // Issue 18: authorization_details and approval_id from step `approval`.
    // Issue 18: what remains of the agent's budgets for this tool (step `budget`).
    ...(facts.approval || facts.budgetClaim ? { claims: { ...facts.approval?.claims, ...(facts.budgetClaim ? { budget: facts.budgetClaim } : {}) } } : {}),
  }),
}));
