/**
 * The broker's Prometheus metrics, one registry per broker instance (never prom-client's global default, so
 * several brokers in one process, as in the tests, keep separate counts).
 *
 * Label cardinality is bounded by construction (documented in the README's metrics table):
 * - `reason`: a code of `DENIAL_REASONS` or `granted`, anything else `other`;
 * - `tool`: a tool id of the current catalog, `none` when the request named no known tool, else `other`;
 * - `agent`: a registered agent's client id when it authenticated, else `other` (an unauthenticated caller
 *   chooses its client_id: it never becomes a label value);
 * - `step`: the pipeline's step names (constants in code), `outcome`: established | refused | failed;
 * - `trigger`: the kill switch's three triggers; `source`, `result`: small fixed sets.
 * So the series count is at most |reasons| × 2 + (|tools| + 2) × (|agents| + 1) × 2 plus fixed ones.
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ExchangeRecord } from '../../attribution/record.js';
import type { CommitObserver } from '../../attribution/group-commit.js';
import { DENIAL_REASONS } from '../../exchange/reasons.js';
import { FastCounter, FastHistogram } from './fast-metrics.js';
import type { StepObserver } from '../step-observer.js';

/** What bounds the `tool` and `agent` label values: the live catalog and agent registry. */
export interface LabelBounds {
  readonly tools: () => ReadonlyMap<string, unknown>;
  readonly agents: () => ReadonlyMap<string, unknown>;
}

/** Seconds; from 0.5 ms (a cached exchange) to 2.5 s (a slow issuer's JWKS fetch). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
/** Revocation propagation: the published window is 1 s by default. */
const LAG_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

const KNOWN_REASONS: ReadonlySet<string> = new Set([...Object.keys(DENIAL_REASONS), 'granted']);
const KILL_SWITCH_TRIGGERS: ReadonlySet<string> = new Set(['rate_limit_hits', 'denial_ratio', 'distinct_users']);
const STEP_OUTCOMES: ReadonlySet<string> = new Set(['established', 'refused', 'failed']);

/** Every metric name the broker exposes (dashboards and alerts are checked against this list). */
export const METRIC_NAMES = {
  exchanges: 'broker_exchanges_total',
  exchangesByTool: 'broker_exchanges_by_tool_total',
  exchangeDuration: 'broker_exchange_duration_seconds',
  stepDuration: 'broker_pipeline_step_duration_seconds',
  attributionBatchSize: 'broker_attribution_batch_size',
  attributionSync: 'broker_attribution_sync_duration_seconds',
  attributionBatches: 'broker_attribution_batches_total',
  attributionRecordsFailed: 'broker_attribution_records_failed_total',
  stateErrors: 'broker_state_errors_total',
  issuerErrors: 'broker_issuer_errors_total',
  killSwitchTrips: 'broker_kill_switch_trips_total',
  revocationLag: 'broker_revocation_propagation_lag_seconds',
  feedSubscribers: 'broker_revocation_feed_subscribers',
  mirrorAge: 'broker_agent_status_mirror_age_seconds',
  reloads: 'broker_config_reloads_total',
  reloadLastSuccess: 'broker_config_reload_last_success_timestamp_seconds',
  catalogTools: 'broker_catalog_tools',
  registeredAgents: 'broker_registered_agents',
} as const;

export interface MetricsOptions {
  /** Also the process metrics (CPU, memory, event-loop delay, GC) prom-client collects; off by default (tests). */
  readonly processMetrics?: boolean;
}

export class BrokerMetrics implements StepObserver {
  readonly registry = new Registry();
  readonly exchanges = new FastCounter(this.registry, METRIC_NAMES.exchanges, 'Token exchanges by decision and reason code', ['decision', 'reason']);
  readonly exchangesByTool = new FastCounter(this.registry, METRIC_NAMES.exchangesByTool, 'Token exchanges by tool, agent and decision (unknown values are "other")', ['tool', 'agent', 'decision']);
  readonly exchangeDuration = new FastHistogram(this.registry, METRIC_NAMES.exchangeDuration, 'Time from the request reaching /token to the response (attribution included)', LATENCY_BUCKETS, ['decision']);
  readonly stepDuration = new FastHistogram(this.registry, METRIC_NAMES.stepDuration, 'Time spent in each step of the token-exchange pipeline', LATENCY_BUCKETS, ['step', 'outcome']);
  readonly attributionBatchSize = new FastHistogram(this.registry, METRIC_NAMES.attributionBatchSize, 'Attribution records made durable per group commit', BATCH_BUCKETS);
  readonly attributionSync = new FastHistogram(this.registry, METRIC_NAMES.attributionSync, 'Time one group commit takes to make its batch durable (write + sync, or the Redis script)', LATENCY_BUCKETS);
  readonly attributionBatches = new FastCounter(this.registry, METRIC_NAMES.attributionBatches, 'Group commits of the attribution sink by result', ['result']);
  readonly attributionRecordsFailed = new FastCounter(this.registry, METRIC_NAMES.attributionRecordsFailed, 'Attribution records a failed commit rejected (their tokens were withheld)');
  readonly stateErrors = new FastCounter(this.registry, METRIC_NAMES.stateErrors, 'Shared-state (Redis) failures seen, by where they were seen', ['source']);
  readonly issuerErrors = new FastCounter(this.registry, METRIC_NAMES.issuerErrors, 'Exchanges refused because a trusted issuer\'s discovery or JWKS was unavailable');
  readonly killSwitchTrips = new FastCounter(this.registry, METRIC_NAMES.killSwitchTrips, 'Agents suspended by the automatic kill switch, by trigger', ['trigger']);
  readonly revocationLag = new FastHistogram(this.registry, METRIC_NAMES.revocationLag, 'Delay from an agent status change being committed to the shared state until this replica\'s mirror applied it', LAG_BUCKETS);
  readonly reloads = new FastCounter(this.registry, METRIC_NAMES.reloads, 'Reloads of scopes/ and clients/ by result', ['result']);
  readonly reloadLastSuccess = new Gauge({ name: METRIC_NAMES.reloadLastSuccess, help: 'When scopes/ and clients/ were last loaded successfully (start or reload), Unix seconds', registers: [this.registry] });

  constructor(options: MetricsOptions = {}) {
    // The series exist (at 0) before the first event, so rate() and alerts work from the first scrape.
    this.attributionBatches.inc('ok', undefined, undefined, 0);
    this.attributionBatches.inc('failed', undefined, undefined, 0);
    this.reloads.inc('ok', undefined, undefined, 0);
    this.reloads.inc('failed', undefined, undefined, 0);
    this.attributionRecordsFailed.inc('', undefined, undefined, 0);
    this.issuerErrors.inc('', undefined, undefined, 0);
    for (const trigger of KILL_SWITCH_TRIGGERS) this.killSwitchTrips.inc(trigger, undefined, undefined, 0);
    for (const source of ['exchange', 'agent_status_mirror']) this.stateErrors.inc(source, undefined, undefined, 0);
    this.reloadLastSuccess.set(Date.now() / 1000);
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * The record observer (create-broker's `observe`): counts every exchange record once it is written.
   * Allocation-free once each label combination has been seen.
   */
  exchangeObserver(bounds: LabelBounds): (record: ExchangeRecord) => void {
    return (record) => {
      const reason = KNOWN_REASONS.has(record.reason) ? record.reason : 'other';
      this.exchanges.inc(record.decision, reason);
      const toolId = record.tool?.id;
      const tool = toolId === undefined ? 'none' : bounds.tools().has(toolId) ? toolId : 'other';
      const clientId = record.agent.client_id;
      const agent = record.agent.authenticated && clientId !== null && bounds.agents().has(clientId) ? clientId : 'other';
      this.exchangesByTool.inc(tool, agent, record.decision);
      if (reason === 'state_unavailable') this.stateErrors.inc('exchange');
      else if (reason === 'issuer_unavailable') this.issuerErrors.inc();
    };
  }

  /** A denial counted without a record of its own (unauthenticated denials are aggregated per address). */
  countUnattributedDenial(reason: string): void {
    this.exchanges.inc('denied', KNOWN_REASONS.has(reason) ? reason : 'other');
    this.exchangesByTool.inc('none', 'other', 'denied');
  }

  /** The aggregator of unauthenticated denials, counting each denial here as it is added. */
  countingUnattributed<U extends { add(denial: { readonly reason: string }): void }>(aggregator: U): U {
    const add = aggregator.add.bind(aggregator);
    return Object.assign(aggregator, {
      add: (denial: Parameters<U['add']>[0]) => {
        this.countUnattributedDenial(denial.reason);
        add(denial);
      },
    });
  }

  /** The attribution sinks' group commit reports each batch here (attribution/group-commit.ts). */
  readonly attributionCommit: CommitObserver = (size, durationMs, ok) => {
    this.attributionBatches.inc(ok ? 'ok' : 'failed');
    if (!ok) this.attributionRecordsFailed.inc('', undefined, undefined, size);
    if (size === 0) return; // a forced checkpoint with no record
    this.attributionBatchSize.observe(size);
    this.attributionSync.observe(durationMs / 1000);
  };

  /** StepObserver: one pipeline step finished. */
  onStep(step: string, durationMs: number, outcome: string): void {
    this.stepDuration.observe(durationMs / 1000, step, STEP_OUTCOMES.has(outcome) ? outcome : 'failed');
  }

  killSwitchTripped(trigger: string): void {
    this.killSwitchTrips.inc(KILL_SWITCH_TRIGGERS.has(trigger) ? trigger : 'other');
  }

  /** Gauges read when scraped: nothing to keep up to date on the hot path. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({ name, help, registers: [this.registry], collect() { this.set(read()); } });
  }

  /** The text exposition (Prometheus format 0.0.4). */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
