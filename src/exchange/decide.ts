/**
 * The exchange decision: pure code over the parsed request, the registered agent, the target tool,
 * the verified subject (and actor) claims, the policy and a clock. Either a Grant or the first Denial.
 */
import type { Agent } from '../domain/agent.js';
import type { Catalog, Tool } from '../domain/catalog.js';
import { TOKEN_EXCHANGE_GRANT, type ActorClaims, type ExchangeRequest, type Grant, type SubjectClaims } from '../domain/exchange.js';
import { buildActChain } from './act-chain.js';
import { boundLifetime } from './bound-lifetime.js';
import { checkKeyBinding } from './key-binding.js';
import { checkMayAct } from './may-act.js';
import { narrowScopes } from './narrow-scopes.js';
import { deny, isDenial, type Denial } from './reasons.js';
import { resolveTool } from './resolve-tool.js';
import { currentWindow } from './time-windows.js';

export interface ExchangePolicy {
  readonly brokerIssuer: string;
  readonly maxDelegationDepth: number;
}

export interface DecisionInput {
  readonly request: ExchangeRequest;
  readonly agent: Agent;
  readonly tool: Tool;
  readonly subject: SubjectClaims;
  readonly actor?: ActorClaims;
  readonly policy: ExchangePolicy;
  readonly nowMs: number;
  /** The RFC 7638 thumbprint of the key that made the request's DPoP proof, if it carried one. */
  readonly proofJkt?: string;
}

/** RFC 6749 §5.2: the agent's registration lists the token-exchange grant (`grant_types`, default: it does). */
function checkAgentGrant(agent: Agent): Denial | null {
  if (agent.grantTypes === undefined || agent.grantTypes.includes(TOKEN_EXCHANGE_GRANT)) return null;
  return deny('agent_not_allowed_grant', 'the token-exchange grant is not registered for this agent');
}

/** The agent is active, registered for the grant and for the tool; any status other than `active` is refused. */
function checkAgentForTool(agent: Agent, tool: Tool): Denial | null {
  if (agent.status !== 'active') return deny('agent_suspended', 'agent is not active');
  const grantDenial = checkAgentGrant(agent);
  if (grantDenial !== null) return grantDenial;
  if (!agent.tools.has(tool.id)) return deny('agent_not_allowed_tool', 'agent is not registered for this tool');
  return null;
}

/** An actor token may only be presented by an agent registered to present one. */
function checkActorTokenAllowed(agent: Agent): Denial | null {
  return agent.actorToken.allowed ? null : deny('actor_token_not_allowed', 'agent may not present an actor_token');
}

/** The actor token names the agent itself or an identity it is registered to present. */
function checkActor(actor: ActorClaims, agent: Agent): Denial | null {
  if (actor.sub === agent.clientId || agent.actorToken.subjects.includes(actor.sub)) return null;
  return deny('actor_token_subject_mismatch', 'actor_token subject is not this agent');
}

/** Cheap checks, before any token is verified: agent status, its grant, target tool, tool registration, actor token use. */
export function precheck(request: ExchangeRequest, agent: Agent, catalog: Catalog): { tool: Tool } | Denial {
  if (agent.status !== 'active') return deny('agent_suspended', 'agent is not active');
  const grantDenial = checkAgentGrant(agent);
  if (grantDenial !== null) return grantDenial;
  const tool = resolveTool(request, catalog);
  if (isDenial(tool)) return tool;
  const agentDenial = checkAgentForTool(agent, tool);
  if (agentDenial !== null) return agentDenial;
  if (request.actorToken !== undefined) {
    const actorDenial = checkActorTokenAllowed(agent);
    if (actorDenial !== null) return actorDenial;
  }
  return { tool };
}

export function decide(input: DecisionInput): Grant | Denial {
  const { request, agent, tool, subject, actor, policy, nowMs } = input;

  const agentDenial = checkAgentForTool(agent, tool);
  if (agentDenial !== null) return agentDenial;
  const agentAllowed = agent.tools.get(tool.id) ?? [];

  if (actor !== undefined) {
    const actorDenial = checkActorTokenAllowed(agent) ?? checkActor(actor, agent);
    if (actorDenial !== null) return actorDenial;
  }

  const bindingDenial = checkKeyBinding(subject.confirmation, actor?.confirmation, input.proofJkt);
  if (bindingDenial !== null) return bindingDenial;

  const mayActDenial = checkMayAct(subject.mayAct, agent.clientId, policy.brokerIssuer);
  if (mayActDenial !== null) return mayActDenial;

  const act = buildActChain(agent.clientId, subject.act, policy.maxDelegationDepth);
  if (isDenial(act)) return act;

  const window = currentWindow(tool.timeWindows, nowMs);
  if (!window.inside) return deny('outside_time_window', 'tool is not available at this time');

  if (request.scopes.length === 0) return deny('scope_missing', 'scope is required');
  const scopes = narrowScopes(request.scopes, tool, agentAllowed, subject.scopes);
  if (scopes.granted.length === 0) {
    const count = scopes.requested.length;
    return { ...deny('scope_empty_after_narrowing', `none of the ${count} requested scopes can be granted`), scopes };
  }

  const nowSeconds = Math.floor(nowMs / 1000);
  const lifetime = boundLifetime({
    nowSeconds,
    toolMaxTtlSeconds: tool.maxTtlSeconds,
    agentMaxTtlSeconds: agent.maxTtlSeconds,
    subjectExpSeconds: subject.exp,
    windowEndMs: window.endsAtMs,
  });
  if (isDenial(lifetime)) return lifetime;

  return {
    decision: 'granted',
    tool,
    subject: { iss: subject.iss, sub: subject.sub },
    act,
    scopes,
    iat: nowSeconds,
    exp: lifetime.exp,
    lifetimeBoundBy: lifetime.boundBy,
    issuedTokenType: request.requestedTokenType,
  };
}
