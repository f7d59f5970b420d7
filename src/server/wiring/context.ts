/**
 * What every feature's wiring reads: the broker's inputs and the few objects built first, on which the
 * features depend (the shared state, the catalog and agents in force, the metrics).
 */
import type { BrokerConfig } from '../../domain/broker-config.js';
import type { Logger } from '../../log.js';
import type { BrokerMetrics } from '../../observability/metrics/broker-metrics.js';
import type { LiveConfig } from '../../reload/live-config.js';
import type { SharedState } from '../../state/shared-state.js';
import type { BrokerDeps } from '../broker-deps.js';

export interface WiringContext {
  readonly deps: BrokerDeps;
  readonly config: BrokerConfig;
  readonly log: Logger;
  readonly now: () => number;
  readonly state: SharedState;
  /** One reference to the catalog and agents in force, swapped whole by a reload (reload/live-config.ts). */
  readonly live: LiveConfig;
  readonly metrics: BrokerMetrics;
}
