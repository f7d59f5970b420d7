/**
 * What the metrics cost one exchange (issue 19): the record observer (two labelled counters), the duration
 * histogram and the thirteen pipeline-step observations (plus the two clock reads per step the runner then makes), against prom-client's own labelled inc/observe for the
 * same updates. Prints ns per exchange and bytes allocated per exchange. `npx tsx bench/metrics-cost.ts`
 */
import { Counter, Histogram, Registry } from 'prom-client';
import type { ExchangeRecord } from '../src/attribution/record.js';
import { BrokerMetrics } from '../src/observability/metrics/broker-metrics.js';

const N = 1_000_000;
// The pipeline's steps (src/token-endpoint/token-steps.ts).
const STEPS = ['per-source-limit', 'framing', 'client-authentication', 'agent-status', 'parse', 'precheck', 'rate-limit', 'dpop', 'verify-subject', 'decide', 'act-chain-standing', 'mint', 're-check'];
const record: ExchangeRecord = {
  v: 1, type: 'token_exchange', id: 'r', time: new Date().toISOString(), request_id: 'q', decision: 'granted', reason: 'granted',
  agent: { client_id: 'demo-agent', authenticated: true }, tool: { id: 'crm', resource: 'https://crm.example/api' }, caller: { address: '127.0.0.1' },
};
const tools = new Map([['crm', {}], ['tickets', {}]]);
const agents = new Map([['demo-agent', {}]]);

function measure(name: string, run: () => void): void {
  for (let i = 0; i < 50_000; i += 1) run(); // warm up (JIT, the label cells exist)
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i += 1) run();
  const ns = Number(process.hrtime.bigint() - start) / N;
  const bytes = (process.memoryUsage().heapUsed - heapBefore) / N;
  console.log(`${name.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns/exchange  ~${bytes.toFixed(1)} B/exchange retained-or-garbage`);
}

const metrics = new BrokerMetrics();
const observe = metrics.exchangeObserver({ tools: () => tools, agents: () => agents });
measure('broker metrics (observer + duration)', () => {
  observe(record);
  metrics.exchangeDuration.observe(0.004, 'granted');
});
measure('broker metrics (observer + duration + 13 steps)', () => {
  observe(record);
  metrics.exchangeDuration.observe(0.004, 'granted');
  for (const step of STEPS) {
    const t = performance.now();
    metrics.onStep(step, performance.now() - t, 'established');
  }
});

const registry = new Registry();
const c1 = new Counter({ name: 'a_total', help: 'a', labelNames: ['decision', 'reason'], registers: [registry] });
const c2 = new Counter({ name: 'b_total', help: 'b', labelNames: ['tool', 'agent', 'decision'], registers: [registry] });
const h1 = new Histogram({ name: 'c', help: 'c', labelNames: ['decision'], registers: [registry] });
const h2 = new Histogram({ name: 'd', help: 'd', labelNames: ['step', 'outcome'], registers: [registry] });
measure('prom-client labelled inc/observe, same updates', () => {
  c1.inc({ decision: 'granted', reason: 'granted' });
  c2.inc({ tool: 'crm', agent: 'demo-agent', decision: 'granted' });
  h1.observe({ decision: 'granted' }, 0.004);
  for (const step of STEPS) h2.observe({ step, outcome: 'established' }, 0.0003);
});
