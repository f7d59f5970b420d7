/** Log-line fields from the active trace context; only the OpenTelemetry API (no SDK) is loaded here. */
import { context, trace } from '@opentelemetry/api';

const NO_FIELDS: Readonly<Record<string, string>> = Object.freeze({});

/** pino mixin: the active span's trace and span ids on every log line written inside an exchange. */
export function traceLogFields(): Readonly<Record<string, string>> {
  const span = trace.getSpan(context.active());
  if (!span) return NO_FIELDS;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
