/**
 * What one token request has established so far: plain data, each member set by exactly one step (named
 * next to it) and never changed afterwards. The runner (runner.ts) collects what each step returns; the
 * attribution record (build-record.ts) is built from the final set, whatever the outcome.
 */
import type { Agent } from '../../domain/agent.js';
import type { Tool } from '../../domain/catalog.js';
import type { ActorClaims, ExchangeRequest, Grant, RawParams, SubjectClaims } from '../../domain/exchange.js';
import type { MintedToken } from '../../minting/mint-access-token.js';
import type { OnwardRecord } from '../../upstream/onward/onward-exchange.js';
import type { BudgetClaim } from '../../guardrails/budgets/budget-plan.js';
import type { BudgetRefusal } from '../../guardrails/guardrail-step.js';
import type { Stage } from '../../guardrails/stages/stage.js';

export interface Facts {
  /** The edge (token-endpoint.ts): the caller's X-Request-Id if safe, else a fresh one. */
  readonly requestId: string;
  /** The edge: the W3C traceparent's trace id, if one was sent. */
  readonly traceId?: string;
  /** framing: the form parameters (RFC 6749 Appendix B), repeated names as arrays. */
  readonly form?: RawParams;
  /** client-authentication: the registered agent the credentials name (set even when they then fail). */
  readonly clientId?: string;
  /** client-authentication: the agent, once its credentials verified (RFC 6749 §2.3). */
  readonly agent?: Agent;
  /** parse: the well-formed RFC 8693 request. */
  readonly request?: ExchangeRequest;
  /** precheck: the one tool the request targets. */
  readonly tool?: Tool;
  /** dpop: the thumbprint of the verified DPoP proof's key (RFC 9449 §6), the token's `cnf.jkt`. */
  readonly dpopJkt?: string;
  /** verify-subject: the verified user token, and its fingerprint (also when it failed: for the record). */
  readonly subject?: SubjectClaims;
  readonly subjectFingerprint?: string;
  /** verify-subject: the verified actor token, if one was sent, and its fingerprint. */
  readonly actor?: ActorClaims;
  readonly actorFingerprint?: string;
  /** decide: what may be issued (scopes, lifetime, act chain). */
  readonly grant?: Grant;
  /**
   * approval (issue 18): the claims the approval gate adds to the token (`authorization_details`, and
   * `approval_id` for an approved request, whose single token step `approval-claim` then claims).
   */
  readonly approval?: { readonly claims: Readonly<Record<string, unknown>>; readonly approvalId?: string };
  /**
   * stage (issue 18): the agent's rollout stage when it is not `autonomous` (recorded). The step may narrow
   * `grant` (read_only) and, for a supervised agent, re-establish `tool` with its write scopes marked
   * `approval: required`, which step `approval` then gates.
   */
  readonly stage?: Stage;
  /** budget (issue 18): what remains after this exchange (the token's `budget` claim). */
  readonly budgetClaim?: BudgetClaim;
  /** budget (issue 18): the budget that refused the exchange (recorded). */
  readonly budget?: BudgetRefusal;
  /** mint: the signed token. */
  readonly minted?: MintedToken;
  /** onward (issue 17): a tool identity's onward exchange, for the record; `granted` once a credential was obtained. */
  readonly onward?: OnwardRecord & { readonly granted?: boolean };
  /** onward: the RFC 8693 response carrying the user's upstream credential (answered as is, never recorded). */
  readonly onwardAnswer?: Readonly<Record<string, unknown>>;
}

/** The name of each fact a step may establish (everything but what the edge sets). */
export type FactName = Exclude<keyof Facts, 'requestId' | 'traceId'>;
