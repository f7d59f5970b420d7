/**
 * The signals of one token exchange, as a koa middleware wrapped around the token endpoint (its pipeline):
 * its duration (a histogram by decision) and, when tracing is on, its span. The span continues the
 * caller's W3C `traceparent` (Trace Context §3.2) when one is sent and valid; its trace id is handed to the
 * token endpoint (ctx.state.traceId) for the attribution record, so record and span always agree. Pipeline
 * steps report through the runner's `onStep` hook as child spans (tracingStepObserver).
 */
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context as OtelContext, type Tracer } from '@opentelemetry/api';
import type { Context, Next } from 'koa';
import type { ExchangeRecord } from '../attribution/record.js';
import type { BrokerMetrics } from './metrics/broker-metrics.js';
import type { StepObserver } from './step-observer.js';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/u;

/** The remote parent named by a valid `traceparent` (version ff, all-zero ids are invalid: §3.2.2). */
export function remoteParent(header: string): OtelContext {
  const match = header === '' ? null : TRACEPARENT.exec(header.trim());
  if (!match) return ROOT_CONTEXT;
  const [, version = 'ff', traceId = '', spanId = '', flags = '00'] = match;
  if (version === 'ff' || /^0+$/u.test(traceId) || /^0+$/u.test(spanId)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId, spanId, isRemote: true,
    traceFlags: (Number.parseInt(flags, 16) & 1) === 1 ? TraceFlags.SAMPLED : TraceFlags.NONE,
  });
}

/** The token endpoint answers 200 only with a token (src/token-endpoint/render.ts). */
function decisionOf(ctx: Context): 'granted' | 'denied' {
  return ctx.status === 200 ? 'granted' : 'denied';
}

/** Where the token endpoint takes the trace id for the attribution record (token-endpoint.ts). */
export interface TraceState { traceId?: string }

export function exchangeSignals(opts: { readonly tokenPath: string; readonly metrics: BrokerMetrics; readonly tracer: Tracer | undefined }) {
  const { tokenPath, metrics, tracer } = opts;
  if (!tracer) {
    // Tracing off: two clock reads and a histogram update per exchange, nothing else.
    return async function exchangeTiming(ctx: Context, next: Next): Promise<void> {
      if (ctx.path !== tokenPath) {
        await next();
        return;
      }
      const started = performance.now();
      try {
        await next();
      } finally {
        metrics.exchangeDuration.observe((performance.now() - started) / 1000, decisionOf(ctx));
      }
    };
  }
  return async function exchangeSpan(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== tokenPath) {
      await next();
      return;
    }
    const started = performance.now();
    const parent = remoteParent(ctx.get('traceparent'));
    const span = tracer.startSpan('token_exchange', {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': ctx.method, 'url.path': ctx.path },
    }, parent);
    // The record's trace id: the span's (the caller's own when its traceparent is valid, else a new one).
    (ctx.state as TraceState).traceId = span.spanContext().traceId;
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const decision = decisionOf(ctx);
      metrics.exchangeDuration.observe((performance.now() - started) / 1000, decision);
      span.setAttribute('http.response.status_code', ctx.status);
      span.setAttribute('broker.decision', decision);
      if (ctx.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: 'server error' });
      span.end();
    }
  };
}

/**
 * The record observer's part in tracing: the written record's facts on the exchange's span (the observer runs
 * in the request's context, right after the record is durable). Unauthenticated denials aggregated per
 * address have no record of their own: their span carries the decision only.
 */
export function tracingRecordObserver(): (record: ExchangeRecord) => void {
  return (record) => {
    const span = trace.getSpan(context.active());
    if (!span) return;
    span.setAttribute('broker.request_id', record.request_id);
    if (record.decision === 'denied') span.setAttribute('broker.reason', record.reason);
    if (record.agent.authenticated && record.agent.client_id !== null) span.setAttribute('broker.agent', record.agent.client_id);
    if (record.tool) span.setAttribute('broker.tool', record.tool.id);
  };
}

/** Step spans: a child of the exchange's span for each step the pipeline reports (started `durationMs` ago). */
export function tracingStepObserver(tracer: Tracer): StepObserver {
  return {
    onStep(step, durationMs, outcome) {
      const active = context.active();
      if (!trace.getSpan(active)) return;
      const end = performance.timeOrigin + performance.now();
      const span = tracer.startSpan(step, { startTime: end - durationMs, attributes: { 'broker.step.outcome': outcome } }, active);
      if (outcome === 'failed') span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(end);
    },
  };
}
