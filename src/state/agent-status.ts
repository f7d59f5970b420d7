/**
 * How the token endpoint reads an agent's status override (suspended / revoked). Two reads per exchange:
 *   recent(): before any work, may be up to the propagation window old (a replica's in-memory mirror);
 *   latest(): after minting, reflects every change the shared state committed before the call, so a
 *             suspension that landed while the request was in flight wins.
 * Both reject with StateUnavailableError when they cannot vouch for that; the broker then mints nothing.
 */
import type { AgentStatusOverride, SharedState } from './shared-state.js';

export interface AgentStatusView {
  recent(clientId: string): Promise<AgentStatusOverride | null>;
  latest(clientId: string): Promise<AgentStatusOverride | null>;
  /** Resolves when `recent()` can answer (for readiness); rejects like it otherwise. */
  confirm(): Promise<void>;
  close(): void;
}

/** Reads the shared state directly each time (the in-memory state, where a read costs nothing). */
export function directAgentStatus(state: SharedState): AgentStatusView {
  return {
    recent: (clientId) => state.agentOverride(clientId),
    latest: (clientId) => state.agentOverride(clientId),
    confirm: () => Promise.resolve(),
    close: () => undefined,
  };
}
