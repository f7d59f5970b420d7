/**
 * The RFC 8693 grant, registered with oidc-provider (which has already authenticated the agent).
 * The steps, in order, each a named function elsewhere:
 *   parse the request -> cheap policy checks -> rate limits -> the DPoP proof, if any -> verify the subject (and actor) token
 *   -> decide (narrow scopes, bound lifetime, build the act chain) -> mint -> respond.
 * Any denial is recorded in the exchange state and thrown as an OAuth error; the attribution record is
 * written by record-outcome.ts before the response leaves.
 */
import type { AgentRegistry } from '../domain/agent.js';
import type { BrokerConfig, RequestLimits } from '../domain/broker-config.js';
import { checkRateLimits } from '../kill-switch/rate-limits.js';
import type { Catalog } from '../domain/catalog.js';
import { TOKEN_EXCHANGE_GRANT, type RawParams } from '../domain/exchange.js';
import { decide, precheck, type ExchangePolicy } from '../exchange/decide.js';
import { parseExchangeRequest } from '../exchange/parse-request.js';
import { denialStatus, deny, isDenial, type Denial } from '../exchange/reasons.js';
import type { ApprovalGate, MintStep } from '../guardrails/approvals/approval-step.js';
import { renderOAuthError } from '../http/oauth-error.js';
import type { SigningKey } from '../keys/signing-keys.js';
import { mintAccessToken } from '../minting/mint-access-token.js';
import type { TokenEndpointGrantContext } from '../provider/oidc-provider.js';
import type { AgentStatusOverride, SharedState } from '../state/shared-state.js';
import type { AgentStatusView } from '../state/agent-status.js';
import { tokenFingerprint, type IncomingTokenVerifier } from '../subject-token/verify-incoming-token.js';
import { actChainDenial } from './check-act-chain-standing.js';
import { checkDpop } from './check-dpop.js';
import { denialError } from './denial-error.js';
import { exchangeState } from './exchange-state.js';
import { shadowDenial, type Guardrails, type StagePhase } from '../guardrails/guardrail-step.js';
import type { BudgetClaim } from '../guardrails/budgets/budget-plan.js';
import { parseAuthorizationDetails } from '../guardrails/authorization-details/parse-authorization-details.js';

export const TOKEN_EXCHANGE_PARAMETERS = [
  'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type',
  'resource', 'audience', 'scope', 'requested_token_type',
  // Issue 18 (approvals): RFC 9396 authorization_details, and the approval id the agent polls with.
  'authorization_details', 'approval_id',
] as const;
/** RFC 8707 allows several `resource` values; the broker accepts exactly one, and says so as invalid_target. */
export const TOKEN_EXCHANGE_REPEATABLE = ['resource', 'audience'] as const;

export interface TokenExchangeDeps {
  readonly issuer: string;
  readonly catalog: () => Catalog;
  readonly agents: () => AgentRegistry;
  readonly verifier: IncomingTokenVerifier;
  readonly policy: ExchangePolicy;
  readonly limits: RequestLimits;
  readonly signingKey: () => SigningKey;
  readonly now: () => number;
  /** The token endpoint URL agents address (DPoP `htu`). */
  readonly tokenEndpoint: string;
  /** Tolerance on DPoP proofs' `iat`. */
  readonly clockSkewSeconds: number;
  /** Rate-limit windows shared by every replica. */
  readonly state: SharedState;
  /** Agent suspensions and revocations shared by every replica (a local mirror with Redis). */
  readonly agentStatus: AgentStatusView;
  readonly rateLimits?: BrokerConfig['rateLimits'];
  /** Issue 18: rollout stages and budgets, run after the decision (absent: none). */
  readonly guardrails?: Guardrails;
  /** Issue 18: the approval gate (src/guardrails/approvals/); absent, authorization_details are not read. */
  readonly approvals?: ApprovalGate;
}

/** A single-valued parameter as oidc-provider passed it (repeats are refused before the grant runs). */
function singleParam(params: RawParams, name: string): string | undefined {
  const value = Object.hasOwn(params, name) ? params[name] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * A suspension or revocation set by a person or the kill switch, as the agent-status view reports it. If
 * the view cannot vouch for its answer (Redis unreachable, mirror stale), the broker mints nothing.
 */
async function agentOverrideDenial(read: () => Promise<AgentStatusOverride | null>): Promise<Denial | null> {
  let override;
  try {
    override = await read();
  } catch {
    return deny('state_unavailable', 'agent status cannot be checked right now; try again later');
  }
  if (!override) return null;
  return override.status === 'revoked'
    ? deny('agent_revoked', 'agent identity has been revoked')
    : deny('agent_suspended', 'agent is suspended');
}

export { TOKEN_EXCHANGE_GRANT };

/**
 * RFC 6749 §2.3 / STANDARDS 12: exactly one authentication method per request. oidc-provider silently drops
 * body credentials of methods the broker does not enable (client_secret_post) before it counts them, so a
 * Basic header (or a client assertion) plus a body `client_secret` would otherwise pass as one method.
 */
function authenticationMethodsUsed(ctx: TokenEndpointGrantContext): number {
  const body = ctx.oidc.body ?? {};
  const present = (name: string) => Object.hasOwn(body, name) && body[name] !== '' && body[name] !== undefined;
  return [ctx.headers.authorization !== undefined, present('client_secret'), present('client_assertion')].filter(Boolean).length;
}

export function createTokenExchangeGrant(deps: TokenExchangeDeps) {
  return async function tokenExchangeGrant(ctx: TokenEndpointGrantContext): Promise<void> {
    const state = exchangeState(ctx);
    const clientId = ctx.oidc.client.clientId;
    state.authenticatedClientId = clientId;
    const refuse = (denial: Denial): never => {
      state.denial = denial;
      throw denialError(denial);
    };

    if (authenticationMethodsUsed(ctx) > 1) {
      return refuse(deny('client_authentication_ambiguous', 'client authentication must only be provided using one mechanism'));
    }

    const agent = deps.agents().agents.get(clientId);
    if (!agent) return refuse(deny('agent_unknown', 'the client is not a registered agent'));

    // From the replica's mirror (at most the propagation window old, else it fails closed). A refusal is
    // confirmed against the feed first, so a reinstatement at another replica is honoured at once.
    // Before the request is read: a revoked identity no longer authenticates (RFC 6749 §5.2), whatever it asks.
    const suspended = await agentOverrideDenial(async () => (await deps.agentStatus.recent(clientId)) && deps.agentStatus.latest(clientId));
    if (suspended) return refuse(suspended);

    const request = parseExchangeRequest(ctx.oidc.params as RawParams, deps.limits);
    if (isDenial(request)) return refuse(request);
    state.request = request;

    const pre = precheck(request, agent, deps.catalog());
    if (isDenial(pre)) return refuse(pre);
    state.tool = pre.tool;

    // Rate limits before the DPoP proof: a flood of bad proofs is counted (and can trip the kill switch)
    // before each one costs a signature check and a shared-state write.
    const limited = await checkRateLimits(deps.state, deps.rateLimits, clientId, pre.tool.id, deps.now());
    if (limited) return refuse(limited);

    const dpop = await checkDpop({
      rawHeaders: ctx.req.rawHeaders, method: ctx.method, agent, tokenEndpoint: deps.tokenEndpoint,
      state: deps.state, nowMs: deps.now(), clockSkewSeconds: deps.clockSkewSeconds,
    });
    if (isDenial(dpop)) return refuse(dpop);
    if (dpop.jkt !== undefined) state.dpopJkt = dpop.jkt;

    const nowMs = deps.now();
    const subject = await deps.verifier.verifySubject(request.subjectToken, nowMs);
    if (isDenial(subject)) {
      state.subjectFingerprint = tokenFingerprint(request.subjectToken);
      return refuse(subject);
    }
    state.subject = subject;
    state.subjectFingerprint = subject.fingerprint;

    let actor;
    if (request.actorToken !== undefined) {
      actor = await deps.verifier.verifyActor(request.actorToken, nowMs);
      if (isDenial(actor)) {
        state.actorFingerprint = tokenFingerprint(request.actorToken);
        return refuse(actor);
      }
      state.actor = actor;
      state.actorFingerprint = actor.fingerprint;
    }

    const decision = decide({
      request, agent, tool: pre.tool, subject, ...(actor ? { actor } : {}), policy: deps.policy, nowMs,
      ...(dpop.jkt !== undefined ? { proofJkt: dpop.jkt } : {}),
    });
    if (isDenial(decision)) return refuse(decision);
    // As for the agent itself: the mirror's answer, a refusal confirmed against the feed (a reinstatement counts at once).
    const chainDenial = await actChainDenial(decision.act, deps.policy.brokerIssuer, deps.agents(), async (id) => (await deps.agentStatus.recent(id)) && deps.agentStatus.latest(id));
    if (chainDenial) return refuse(chainDenial);

    // >>> Issue 18 guardrails, minimal marked calls until the token endpoint is one pipeline of steps:
    // rollout stage (may narrow, answer for shadow, or mark write scopes for approval) -> the approval gate
    // -> budgets (reserved atomically, only for what is minted) -> mint with the `budget` claim. A store
    // that cannot answer refuses (fail closed).
    const params = ctx.oidc.params as RawParams;
    let staged: StagePhase = { kind: 'continue', stage: 'autonomous', grant: decision, tool: pre.tool };
    if (deps.guardrails) {
      try {
        staged = await deps.guardrails.stage(agent, decision);
      } catch {
        return refuse(deny('state_unavailable', 'the rollout stage cannot be checked right now; try again later'));
      }
      if (staged.stage !== 'autonomous') state.stage = staged.stage;
      if (staged.kind === 'refuse') return refuse(staged.denial);
      if (staged.kind === 'shadow') {
        // Decided in full (the declared action parsed, the budget looked at), nothing minted, nothing spent.
        const details = parseAuthorizationDetails(singleParam(params, 'authorization_details'), pre.tool);
        if (isDenial(details)) return refuse(details);
        const peek = await deps.guardrails.budget({ agent, grant: staged.grant, details: details?.details ?? [], requestId: state.requestId, callerAddress: ctx.ip, nowMs }, 'peek').catch(() => null);
        if (peek === null) return refuse(deny('state_unavailable', 'budgets cannot be checked right now; try again later'));
        if (!peek.ok) {
          if (peek.budget) state.budget = peek.budget;
          return refuse(peek.denial);
        }
        return refuse(shadowDenial(staged.grant));
      }
      if (staged.approvalRequired && !deps.approvals) {
        return refuse({ ...deny('stage_approval_required', `supervised stage: ${staged.approvalRequired.join(' ')} need a person's approval`), scopes: staged.grant.scopes });
      }
    }
    const stagedGrant = staged.kind === 'continue' ? staged.grant : decision;
    const stagedTool = staged.kind === 'continue' ? staged.tool : pre.tool;

    // Issue 18 (approvals): the approval step after decide, before minting (src/guardrails/approvals/approval-step.ts).
    let approved: MintStep | undefined;
    if (deps.approvals) {
      const step = await deps.approvals.run({
        tool: stagedTool, grant: stagedGrant, agentId: clientId, rawDetails: singleParam(params, 'authorization_details'),
        approvalId: singleParam(params, 'approval_id'), requestId: state.requestId, callerAddress: ctx.ip,
      });
      if (isDenial(step)) return refuse(step);
      if (step.step === 'answer') {
        // No token: the CIBA-style pending answer, with approval_id / interval / expires_in (recorded as a denial).
        state.denial = step.denial;
        renderOAuthError(ctx, { status: denialStatus(step.denial.reason), error: step.denial.error, description: step.denial.description, members: step.members });
        return;
      }
      approved = step;
    }
    const grant = approved?.grant ?? stagedGrant;

    // Issue 18 budgets: counted and summed (declared amounts) only for what is about to be minted.
    let budgetClaim: BudgetClaim | undefined;
    if (deps.guardrails) {
      const spent = await deps.guardrails.budget({ agent, grant, details: approved?.details?.details ?? [], requestId: state.requestId, callerAddress: ctx.ip, nowMs }, 'reserve').catch(() => null);
      if (spent === null) return refuse(deny('state_unavailable', 'budgets cannot be checked right now; try again later'));
      if (!spent.ok) {
        if (spent.budget) state.budget = spent.budget;
        return refuse(spent.denial);
      }
      budgetClaim = spent.claim;
    }
    const claims = { ...approved?.claims, ...(budgetClaim ? { budget: budgetClaim } : {}) };
    // <<< Issue 18 guardrails
    const minted = mintAccessToken(grant, agent, deps.issuer, deps.signingKey(), {
      ...(dpop.jkt !== undefined ? { dpopJkt: dpop.jkt } : {}),
      ...(Object.keys(claims).length > 0 ? { claims } : {}),
    });
    // Checked again after minting, against a read of the feed that started after the mint: a suspension
    // committed before this point wins, and one committed after it revokes this token by its rule
    // (the rule's issuedBefore is taken after the suspension is committed, so it is >= this token's iat).
    const suspendedMeanwhile = await agentOverrideDenial(() => deps.agentStatus.latest(clientId));
    if (suspendedMeanwhile) return refuse(suspendedMeanwhile);
    // latest() has just brought the view up to date, so recent() answers for the chain as of now too.
    const chainMeanwhile = await actChainDenial(decision.act, deps.policy.brokerIssuer, deps.agents(), (id) => deps.agentStatus.recent(id));
    if (chainMeanwhile) return refuse(chainMeanwhile);
    // Issue 18 (approvals): an approved request's single token is claimed (once, on every replica) and recorded.
    const approvalRefusal = await approved?.minted({ jti: minted.jti, exp: minted.exp });
    if (approvalRefusal) return refuse(approvalRefusal);
    state.grant = grant;
    state.minted = { jti: minted.jti, iat: minted.iat, exp: minted.exp };
    ctx.body = {
      access_token: minted.token,
      issued_token_type: grant.issuedTokenType,
      token_type: dpop.jkt !== undefined ? 'DPoP' : 'Bearer',
      expires_in: minted.exp - minted.iat,
      scope: grant.scopes.granted.join(' '),
      // RFC 9396 §7: the authorization details the token carries are returned with it.
      ...(approved?.details ? { authorization_details: approved.details.canonical } : {}),
    };
  };
}
