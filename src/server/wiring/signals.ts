/**
 * Issue 19: metrics and tracing. The step observer the token endpoint reports to (metrics, trace spans, the
 * caller's hooks), and the gauges read at scrape time.
 */
import { BrokerMetrics, METRIC_NAMES } from '../../observability/metrics/broker-metrics.js';
import { tracingStepObserver } from '../../observability/exchange-signals.js';
import { fanOut } from '../../observability/step-observer.js';
import type { LiveConfig } from '../../reload/live-config.js';
import type { AgentStatusView } from '../../state/agent-status.js';
import { AgentStatusMirror } from '../../state/agent-status-mirror.js';
import type { BrokerDeps } from '../broker-deps.js';

export function createSignals(deps: BrokerDeps) {
  const metrics = deps.metrics ?? new BrokerMetrics();
  const tracer = deps.tracing?.tracer;
  const tokenOnStep = deps.tokenHooks?.onStep;
  const steps = fanOut([metrics, tracer ? tracingStepObserver(tracer) : undefined, tokenOnStep ? { onStep: tokenOnStep } : undefined]);
  return { metrics, tracer, steps };
}

export function registerGauges(metrics: BrokerMetrics, sources: { readonly live: LiveConfig; readonly agentStatus: AgentStatusView; readonly feedSubscribers: () => number }): void {
  const { live, agentStatus } = sources;
  metrics.gauge(METRIC_NAMES.feedSubscribers, 'Validators subscribed to this replica\'s revocation feed', sources.feedSubscribers);
  metrics.gauge(METRIC_NAMES.mirrorAge, 'Age of this replica\'s agent-status mirror (0 without Redis: statuses are read directly)',
    () => (agentStatus instanceof AgentStatusMirror ? Math.min(agentStatus.ageMs / 1000, 1e9) : 0));
  metrics.gauge(METRIC_NAMES.catalogTools, 'Tools in the catalog in force', () => live.catalog().tools.size);
  metrics.gauge(METRIC_NAMES.registeredAgents, 'Agents in the registry in force', () => live.agents().agents.size);
}
