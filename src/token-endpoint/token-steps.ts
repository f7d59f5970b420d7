/**
 * The token endpoint, `POST /token`, as one list of named steps (each one file under steps/, named as here).
 * The edge (token-endpoint.ts) runs them with the runner (pipeline/runner.ts), then records the outcome once
 * (attribute.ts) and answers once (render.ts).
 *
 * HOW TO ADD A STEP
 *   1. Write `steps/<name>.ts` exporting `defineStep<YourDeps, 'fact' | ...>('<name>', ['fact', ...], run)`:
 *      `run(facts, request, deps)` gets the facts established so far (pipeline/facts.ts; the ones listed in
 *      `needs` typed as present) and returns
 *        - the facts it established (`{}` when it only checks), or
 *        - a `Denial` (`deny(reason, description)`; add the reason to src/exchange/reasons.ts), or
 *        - `refuse(denial, { headers, fields, established })` for an answer that needs more than the error:
 *          Retry-After, extra body members (a pending approval: `authorization_pending` with `interval`),
 *          or facts learnt before refusing (for the record).
 *      New facts: add an optional member to `Facts`, named by the step that sets it.
 *   2. Add `YourDeps` to `TokenPipelineDeps` below and its values in src/server/create-broker.ts.
 *   3. Put the step in `TOKEN_STEPS` where it belongs (steps that judge a decided grant go after `decide`
 *      and before `mint`).
 *   4. Unit-test it with plain data in test/token-endpoint/steps/<name>.test.ts (no HTTP server needed).
 * Per-step timings: `RunnerHooks.onStep(name, durationMs, outcome)` (create-broker.ts passes it through).
 */
import type { Step } from './pipeline/step.js';
import { actChainStanding, type ActChainStandingDeps } from './steps/act-chain-standing.js';
import { agentStatus, type AgentStatusDeps } from './steps/agent-status.js';
import { approval, approvalClaim, type ApprovalDeps } from './steps/approval.js';
import { clientAuthentication, type ClientAuthenticationDeps } from './steps/client-authentication.js';
import { decide, type DecideDeps } from './steps/decide.js';
import { dpop, type DpopDeps } from './steps/dpop.js';
import { framing, type FramingDeps } from './steps/framing.js';
import { mint, type MintDeps } from './steps/mint.js';
import { onward, type OnwardStepDeps } from './steps/onward.js';
import { parse, type ParseDeps } from './steps/parse.js';
import { perSourceLimit, type PerSourceLimitDeps } from './steps/per-source-limit.js';
import { precheck, type PrecheckDeps } from './steps/precheck.js';
import { rateLimit, type RateLimitDeps } from './steps/rate-limit.js';
import { reCheck, type ReCheckDeps } from './steps/re-check.js';
import { verifySubject, type VerifySubjectDeps } from './steps/verify-subject.js';
import { stage, type StageDeps } from './steps/stage.js';
import { budget, type BudgetDeps } from './steps/budget.js';

export type TokenPipelineDeps = PerSourceLimitDeps & FramingDeps & ClientAuthenticationDeps & AgentStatusDeps & ParseDeps
  & PrecheckDeps & RateLimitDeps & DpopDeps & VerifySubjectDeps & DecideDeps & ActChainStandingDeps & MintDeps & ReCheckDeps
  & OnwardStepDeps & ApprovalDeps & StageDeps & BudgetDeps;

/** In the README's "How it works" order. */
export const TOKEN_STEPS: readonly Step<TokenPipelineDeps>[] = [
  perSourceLimit,       // requests per caller address, before anything else
  framing,              // POST, form-encoded UTF-8, bounded, no query -> form
  clientAuthentication, // exactly one method: client_secret_basic or private_key_jwt -> agent
  agentStatus,          // suspended or revoked by a person or the kill switch
  onward,               // issue 17: a tool identity's onward exchange, answered here (agents pass through) -> onwardAnswer
  parse,                // grant_type, duplicates, scope syntax, RFC 8693 parameters -> request
  precheck,             // the agent's status, grant, target tool and actor-token right -> tool
  rateLimit,            // per agent and per agent and tool, shared by replicas
  dpop,                 // RFC 9449 proof, once per replica set -> dpopJkt
  verifySubject,        // the user token and the actor token -> subject, actor
  decide,               // scopes, lifetime, act chain (pure) -> grant
  actChainStanding,     // earlier actors in the chain still in good standing
  stage,                // issue 18: the rollout stage (shadow answers, read_only narrows, supervised gates writes) -> stage
  approval,             // issue 18: authorization_details, the approval gate (pending / approved) -> approval
  budget,               // issue 18: the agent's budgets, reserved atomically across replicas -> budgetClaim
  mint,                 // sign -> minted
  reCheck,              // standing again, after minting
  approvalClaim,        // issue 18: an approved request's one token, claimed across replicas and recorded
];
