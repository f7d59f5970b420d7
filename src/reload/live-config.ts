/**
 * The catalog and agent registry the broker reads, as one reference: a reload replaces both in a single
 * assignment, so any read sees either the old set or the new one, never the new catalog with the old agents.
 * Readers take the pair through `catalog()` / `agents()` (create-broker.ts); the token-exchange grant takes
 * its agent and its tool from one read each at the start of the exchange.
 */
import type { AgentRegistry } from '../domain/agent.js';
import type { Catalog } from '../domain/catalog.js';
import type { ConfigSet } from './load-sets.js';

export interface LiveSet extends ConfigSet {
  /** 1 at start, +1 per successful reload. */
  readonly generation: number;
  /** When this set took effect (ms since the epoch). */
  readonly since: number;
}

export class LiveConfig {
  #current: LiveSet;

  constructor(initial: ConfigSet, now: number) {
    this.#current = { catalog: initial.catalog, agents: initial.agents, generation: 1, since: now };
  }

  get current(): LiveSet {
    return this.#current;
  }

  readonly catalog = (): Catalog => this.#current.catalog;
  readonly agents = (): AgentRegistry => this.#current.agents;

  /** Puts `next` in force, whole. */
  swap(next: ConfigSet, now: number): LiveSet {
    this.#current = { catalog: next.catalog, agents: next.agents, generation: this.#current.generation + 1, since: now };
    return this.#current;
  }
}
