/**
 * Step `rate-limit`: per-agent and per-agent-per-tool exchange limits, counted in the shared state (so
 * across replicas). Before the DPoP proof: a flood of bad proofs is counted (and can trip the kill switch)
 * before each one costs a signature check and a shared-state write. Over a limit: 429 (RFC 6585 §4) with
 * Retry-After; the shared state unreachable: refused (state_unavailable), nothing is minted.
 */
import type { BrokerConfig } from '../../domain/broker-config.js';
import { deny, type Denial } from '../../exchange/reasons.js';
import type { SharedState } from '../../state/shared-state.js';
import { defineStep, refuse } from '../pipeline/step.js';

export interface RateLimitDeps {
  readonly state: SharedState;
  readonly rateLimits?: BrokerConfig['rateLimits'];
  readonly now: () => number;
}

export async function checkRateLimits(
  state: SharedState,
  limits: BrokerConfig['rateLimits'],
  agentId: string,
  toolId: string,
  nowMs: number,
): Promise<Denial | null> {
  if (!limits) return null;
  const { perAgent, perAgentTool } = limits;
  if (!perAgent && !perAgentTool) return null;
  try {
    // Both windows count every attempt, and are counted together: one group under the agent's name, so with
    // Redis one script call (keys under the agent's hash tag) counts both.
    const windows = [];
    if (perAgent) windows.push({ key: 'all', windowMs: perAgent.windowMs });
    if (perAgentTool) windows.push({ key: `tool:${toolId}`, windowMs: perAgentTool.windowMs });
    const counts = await state.hitGroup(`agent:${agentId}`, windows, nowMs);
    const agentCount = perAgent ? counts[0] : undefined;
    const toolCount = perAgentTool ? counts[perAgent ? 1 : 0] : undefined;
    if (perAgent && agentCount !== undefined && agentCount > perAgent.limit) return deny('rate_limited', 'too many exchanges for this agent; slow down');
    if (perAgentTool && toolCount !== undefined && toolCount > perAgentTool.limit) return deny('rate_limited', 'too many exchanges for this agent and tool; slow down');
  } catch {
    return deny('state_unavailable', 'rate limits cannot be checked right now; try again later');
  }
  return null;
}

const RETRY_AFTER = { 'Retry-After': '1' } as const;

export const rateLimit = defineStep<RateLimitDeps, 'agent' | 'tool'>('rate-limit', ['agent', 'tool'], async (facts, _req, deps) => {
  const denial = await checkRateLimits(deps.state, deps.rateLimits, facts.agent.clientId, facts.tool.id, deps.now());
  if (!denial) return {};
  return denial.reason === 'rate_limited' ? refuse(denial, { headers: RETRY_AFTER }) : denial;
});
