/**
 * Where agent statuses (suspended, revoked) are read: with Redis, from a local mirror fed by the event feed
 * (state/agent-status-mirror.ts), whose lag is measured; otherwise directly from the state.
 */
import { DEFAULT_PROPAGATION_WINDOW_MS } from '../../config/redis-config.js';
import { directAgentStatus } from '../../state/agent-status.js';
import { AgentStatusMirror } from '../../state/agent-status-mirror.js';
import type { WiringContext } from './context.js';

export function createAgentStatus({ config, state, metrics }: WiringContext) {
  return state.kind === 'redis'
    ? new AgentStatusMirror(state, {
      windowMs: config.redis?.propagationWindowMs ?? DEFAULT_PROPAGATION_WINDOW_MS,
      onApplied: (lagMs) => { metrics.revocationLag.observe(lagMs / 1000); },
      onPollError: () => { metrics.stateErrors.inc('agent_status_mirror'); },
    })
    : directAgentStatus(state);
}
