/**
 * Step `agent-status`: a suspension or revocation set by a person or the kill switch, from the replica's
 * agent-status view (at most the propagation window old, else it fails closed). A refusal is confirmed
 * against the feed first, so a reinstatement at another replica is honoured at once. Before the request is
 * read: a revoked identity no longer authenticates (RFC 6749 §5.2), whatever it asks.
 */
import { deny, type Denial } from '../../exchange/reasons.js';
import type { AgentStatusView } from '../../state/agent-status.js';
import type { AgentStatusOverride } from '../../state/shared-state.js';
import { defineStep } from '../pipeline/step.js';

export interface AgentStatusDeps {
  readonly agentStatus: AgentStatusView;
}

/** The override as a denial; a view that cannot vouch for its answer refuses (nothing is minted). */
export async function agentOverrideDenial(read: () => Promise<AgentStatusOverride | null>): Promise<Denial | null> {
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

export const agentStatus = defineStep<AgentStatusDeps, 'agent'>('agent-status', ['agent'], async (facts, _req, deps) => {
  const { clientId } = facts.agent;
  const denial = await agentOverrideDenial(async () => (await deps.agentStatus.recent(clientId)) && deps.agentStatus.latest(clientId));
  return denial ?? {};
});
