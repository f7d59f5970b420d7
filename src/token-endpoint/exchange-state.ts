/**
 * What one token request has established so far. The grant handler fills it step by step; the recorder
 * (record-outcome.ts) turns it into exactly one attribution record, whatever the outcome.
 */
import type { ActorClaims, ExchangeRequest, Grant, SubjectClaims } from '../domain/exchange.js';
import type { Tool } from '../domain/catalog.js';
import type { Denial } from '../exchange/reasons.js';
import type { MintedToken } from '../minting/mint-access-token.js';
import type { BudgetRefusal } from '../guardrails/guardrail-step.js';

export interface ExchangeState {
  requestId: string;
  traceId?: string;
  /** Set once the grant handler runs: oidc-provider has authenticated the client by then. */
  authenticatedClientId?: string;
  request?: ExchangeRequest;
  tool?: Tool;
  subject?: SubjectClaims;
  subjectFingerprint?: string;
  actor?: ActorClaims;
  actorFingerprint?: string;
  /** Thumbprint of the verified DPoP proof key: the minted token's `cnf.jkt`. */
  dpopJkt?: string;
  denial?: Denial;
  grant?: Grant;
  minted?: Omit<MintedToken, 'token'>;
  /** The error oidc-provider raised before our handler ran (client auth, duplicates, scope syntax...). */
  providerError?: { error: string; detail?: string };
  /** Issue 18 guardrails: the stage in force (when not autonomous) and the budget that refused, for the record. */
  stage?: string;
  budget?: BudgetRefusal;
}

interface WithState { state: Record<string, unknown> }

export function exchangeState(ctx: WithState): ExchangeState {
  const existing = ctx.state.exchange as ExchangeState | undefined;
  if (existing) return existing;
  const created: ExchangeState = { requestId: '' };
  ctx.state.exchange = created;
  return created;
}
