/** SharedState for a single process (the embedded default). */
import type { AgentStatusOverride, Revocation, SharedState, StateEvent } from './shared-state.js';

const MAX_EVENTS = 10_000;

export class MemoryState implements SharedState {
  readonly kind = 'memory' as const;
  readonly #overrides = new Map<string, AgentStatusOverride>();
  readonly #revocations = new Map<string, Revocation>();
  readonly #events: StateEvent[] = [];
  #seq = 0;

  #emit(event: Omit<StateEvent, 'cursor'>): void {
    this.#seq += 1;
    this.#events.push({ ...event, cursor: String(this.#seq) });
    if (this.#events.length > MAX_EVENTS) this.#events.shift();
  }

  agentOverride(clientId: string): Promise<AgentStatusOverride | null> {
    return Promise.resolve(this.#overrides.get(clientId) ?? null);
  }

  setAgentOverride(clientId: string, override: AgentStatusOverride | null): Promise<void> {
    if (override) this.#overrides.set(clientId, override);
    else this.#overrides.delete(clientId);
    this.#emit({ type: 'agent_status', agent: { clientId, override } });
    return Promise.resolve();
  }

  addRevocation(revocation: Revocation): Promise<void> {
    this.#revocations.set(revocation.id, revocation);
    this.#emit({ type: 'revocation', revocation });
    return Promise.resolve();
  }

  listRevocations(): Promise<Revocation[]> {
    return Promise.resolve([...this.#revocations.values()]);
  }

  eventsSince(cursor: string | undefined, limit = 1000): Promise<StateEvent[]> {
    const after = cursor === undefined ? 0 : Number(cursor);
    return Promise.resolve(this.#events.filter((e) => Number(e.cursor) > after).slice(0, limit));
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
