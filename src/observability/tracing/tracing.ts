/**
 * OpenTelemetry tracing of token exchanges. Off unless an OTLP endpoint is configured (env
 * `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or the broker's option): then each
 * broker has its own tracer provider exporting OTLP over HTTP in batches. Off, no tracer exists and the
 * exchange path takes no tracing branch at all (zero cost); the API's no-op context is all logs see.
 */
import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-node';

export interface TracingOptions {
  /**
   * OTLP/HTTP base URL (`/v1/traces` is appended, as the OTLP exporter specification says for the generic
   * variable) or, with `tracesEndpoint`, the full traces URL.
   */
  readonly endpoint?: string;
  readonly tracesEndpoint?: string;
  /** Tests: export here instead (e.g. an InMemorySpanExporter), span by span. */
  readonly exporter?: SpanExporter;
  /** `service.name` of the spans (default env OTEL_SERVICE_NAME, else agent-token-broker). */
  readonly serviceName?: string;
}

export interface Tracing {
  /** Undefined when tracing is off. */
  readonly tracer: Tracer | undefined;
  /** Exports what is buffered (tests, shutdown). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

const OFF: Tracing = { tracer: undefined, flush: () => Promise.resolve(), shutdown: () => Promise.resolve() };

/** Options from the environment, as the OTLP exporter specification names them. */
export function tracingOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): TracingOptions {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const service = env.OTEL_SERVICE_NAME?.trim();
  return {
    ...(endpoint ? { endpoint } : {}),
    ...(traces ? { tracesEndpoint: traces } : {}),
    ...(service ? { serviceName: service } : {}),
  };
}

let contextManagerInstalled = false;

/**
 * Step spans and log lines find the exchange's span through the active context, which needs the async
 * context manager; installed once per process, and only when some broker traces.
 */
function installContextManager(provider: NodeTracerProvider): void {
  if (contextManagerInstalled) return;
  contextManagerInstalled = true;
  // Registers the provider globally too (the first tracing broker of the process); each broker still
  // uses its own provider's tracer. No propagator: the broker reads `traceparent` itself (exchange-signals.ts).
  provider.register({ propagator: null });
}

export function startTracing(options: TracingOptions): Tracing {
  const url = options.tracesEndpoint ?? (options.endpoint ? `${options.endpoint.replace(/\/+$/u, '')}/v1/traces` : undefined);
  if (!options.exporter && url === undefined) return OFF;
  const processor = options.exporter
    ? new SimpleSpanProcessor(options.exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter({ url }));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName ?? 'agent-token-broker' }),
    spanProcessors: [processor],
  });
  installContextManager(provider);
  return {
    tracer: provider.getTracer('agent-token-broker'),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
