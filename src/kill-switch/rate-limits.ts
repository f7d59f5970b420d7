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
    // Both windows count every attempt, and are counted together: with Redis the two commands leave in one
    // pipelined write (auto-pipelining) instead of two sequential round trips.
    const { perAgent, perAgentTool } = limits;
    const [agentCount, toolCount] = await Promise.all([
      perAgent ? state.hit(`agent:${agentId}`, perAgent.windowMs, nowMs) : undefined,
      perAgentTool ? state.hit(`agent-tool:${agentId}:${toolId}`, perAgentTool.windowMs, nowMs) : undefined,
    ]);
    if (perAgent && agentCount !== undefined && agentCount > perAgent.limit) return deny('rate_limited', 'too many exchanges for this agent; slow down');
    if (perAgentTool && toolCount !== undefined && toolCount > perAgentTool.limit) return deny('rate_limited', 'too many exchanges for this agent and tool; slow down');
  } catch {
    return deny('state_unavailable', 'rate limits cannot be checked right now; try again later');
  }
  return null;
}
