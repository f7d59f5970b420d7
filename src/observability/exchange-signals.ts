/**
 * The signals of one token exchange, as a koa middleware wrapped around the token-endpoint envelope:
 * its duration (a histogram by decision) and, when tracing is on, its span. The span continues the
 * caller's W3C `traceparent` (Trace Context §3.2) when one is sent and valid, so the trace id in the
 * attribution record (set by the envelope from the same header) is the span's; without one the span starts
 * a trace and its id is put in the record. Pipeline steps report through `stepObserver` as child spans.
 */
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context as OtelContext, type Tracer } from '@opentelemetry/api';
import type { Context, Next } from 'koa';
import { exchangeState } from '../token-endpoint/exchange-state.js';
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

function decisionOf(ctx: Context): 'granted' | 'denied' {
  const state = exchangeState(ctx);
  return state.minted !== undefined && state.grant !== undefined && ctx.status === 200 ? 'granted' : 'denied';
}

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
    const state = exchangeState(ctx);
    // The envelope overwrites this with the header's trace id when one is valid: the same id.
    state.traceId = span.spanContext().traceId;
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const decision = decisionOf(ctx);
      metrics.exchangeDuration.observe((performance.now() - started) / 1000, decision);
      span.setAttribute('http.response.status_code', ctx.status);
      span.setAttribute('broker.decision', decision);
      span.setAttribute('broker.request_id', state.requestId);
      const reason = state.denial?.reason ?? state.providerError?.error;
      if (decision === 'denied' && reason !== undefined) span.setAttribute('broker.reason', reason);
      if (state.authenticatedClientId !== undefined) span.setAttribute('broker.agent', state.authenticatedClientId);
      if (state.tool) span.setAttribute('broker.tool', state.tool.id);
      if (ctx.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: reason ?? 'server error' });
      span.end();
    }
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
      if (outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(end);
    },
  };
}
