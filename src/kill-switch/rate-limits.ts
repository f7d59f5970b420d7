/** Per-agent and per-agent-per-tool exchange limits, counted in the shared state (so across replicas). */
import type { BrokerConfig } from '../domain/broker-config.js';
import { deny, type Denial } from '../exchange/reasons.js';
import type { SharedState } from '../state/shared-state.js';

export async function checkRateLimits(
  state: SharedState,
  limits: BrokerConfig['rateLimits'],
  agentId: string,
  toolId: string,
  nowMs: number,
): Promise<Denial | null> {
  if (!limits) return null;
  try {
    if (limits.perAgent) {
      const count = await state.hit(`agent:${agentId}`, limits.perAgent.windowMs, nowMs);
      if (count > limits.perAgent.limit) return deny('rate_limited', 'too many exchanges for this agent; slow down');
    }
    if (limits.perAgentTool) {
      const count = await state.hit(`agent-tool:${agentId}:${toolId}`, limits.perAgentTool.windowMs, nowMs);
      if (count > limits.perAgentTool.limit) return deny('rate_limited', 'too many exchanges for this agent and tool; slow down');
    }
  } catch {
    return deny('state_unavailable', 'rate limits cannot be checked right now; try again later');
  }
  return null;
}
