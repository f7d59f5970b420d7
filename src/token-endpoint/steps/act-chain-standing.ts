/**
 * Step `act-chain-standing`, and the shell around the act-chain standing rule (src/exchange/act-chain-standing.ts): reads the standing of
 * every earlier actor in the chain that names one of this broker's agents, and decides with the pure rule.
 * A dependency that cannot answer fails closed (state_unavailable): nothing is minted.
 */
import type { AgentRegistry } from '../../domain/agent.js';
import type { ActClaim } from '../../domain/exchange.js';
import { chainStandingDenial, earlierLocalActors, type ActorStanding } from '../../exchange/act-chain-standing.js';
import { deny, type Denial } from '../../exchange/reasons.js';
import type { ExchangePolicy } from '../../exchange/decide.js';
import type { AgentStatusView } from '../../state/agent-status.js';
import type { AgentStatusOverride } from '../../state/shared-state.js';
import { defineStep } from '../pipeline/step.js';

/**
 * The standing of every earlier actor in the chain that names one of this broker's agents: the registry's
 * `status` and the shared-state override (read through the same agent-status view as the agent's own).
 * Nothing to read, and no cost, when the subject token carried no `act`.
 */
export async function actChainDenial(
  act: ActClaim, brokerIssuer: string, registry: AgentRegistry, read: (clientId: string) => Promise<AgentStatusOverride | null>,
): Promise<Denial | null> {
  const actors = earlierLocalActors(act, brokerIssuer);
  if (actors.length === 0) return null;
  let overrides;
  try {
    overrides = await Promise.all(actors.map(read));
  } catch {
    return deny('state_unavailable', 'agent status cannot be checked right now; try again later');
  }
  const standings = new Map<string, ActorStanding>();
  actors.forEach((actor, i) => {
    const registered = registry.agents.get(actor)?.status;
    standings.set(actor, overrides[i]?.status ?? (registered === undefined || registered === 'active' ? 'active' : 'suspended'));
  });
  return chainStandingDenial(actors, (actor) => standings.get(actor) ?? 'active');
}

export interface ActChainStandingDeps {
  readonly agentStatus: AgentStatusView;
  readonly agents: () => AgentRegistry;
  readonly policy: ExchangePolicy;
}

/**
 * Step `act-chain-standing`: as for the agent itself, the mirror's answer, a refusal confirmed against the
 * feed (a reinstatement counts at once).
 */
export const actChainStanding = defineStep<ActChainStandingDeps, 'grant'>('act-chain-standing', ['grant'], async (facts, _req, deps) => {
  const denial = await actChainDenial(
    facts.grant.act, deps.policy.brokerIssuer, deps.agents(),
    async (id) => (await deps.agentStatus.recent(id)) && deps.agentStatus.latest(id),
  );
  return denial ?? {};
});
