/** Log-line fields from the active trace context; only the OpenTelemetry API (no SDK) is loaded here. */
import { context, trace } from '@opentelemetry/api';

/**
 * pino mixin: the active span's trace and span ids on every log line written inside an exchange. pino writes
 * the line's own fields into the returned object, so it must be a fresh, extensible one each time.
 */
export function traceLogFields(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
