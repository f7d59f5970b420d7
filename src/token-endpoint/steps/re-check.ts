/**
 * Step `re-check`: the agent's standing (and every earlier actor's in the chain) checked again after
 * minting, against a read of the feed that started after the mint: a suspension committed before this point
 * wins, and one committed after it revokes this token by its rule (the rule's issuedBefore is taken after the
 * suspension is committed, so it is >= this token's iat).
 */
import type { AgentRegistry } from '../../domain/agent.js';
import type { ExchangePolicy } from '../../exchange/decide.js';
import type { AgentStatusView } from '../../state/agent-status.js';
import { defineStep } from '../pipeline/step.js';
import { actChainDenial } from './act-chain-standing.js';
import { agentOverrideDenial } from './agent-status.js';

export interface ReCheckDeps {
  readonly agentStatus: AgentStatusView;
  readonly agents: () => AgentRegistry;
  readonly policy: ExchangePolicy;
}

export const reCheck = defineStep<ReCheckDeps, 'agent' | 'grant' | 'minted'>('re-check', ['agent', 'grant', 'minted'], async (facts, _req, deps) => {
  const { clientId } = facts.agent;
  const suspended = await agentOverrideDenial(() => deps.agentStatus.latest(clientId));
  if (suspended) return suspended;
  // latest() has just brought the view up to date, so recent() answers for the chain as of now too.
  const chain = await actChainDenial(facts.grant.act, deps.policy.brokerIssuer, deps.agents(), (id) => deps.agentStatus.recent(id));
  return chain ?? {};
});
