/**
 * `metrics`, `tracing` and `reload` (issue 19): where Prometheus scrapes besides the key-protected
 * `/metrics` on the broker's port, where spans go (OTLP over HTTP; absent = tracing off), and whether a
 * change in scopes/ or clients/ reloads them without SIGHUP.
 */
import { z } from 'zod';
import { nonEmptyString } from '../validate.js';
import { parseUrl, portSchema, urlSchema } from '../urls.js';
import { defineSection } from './section.js';

/** The collector is often plain http inside the cluster: spans carry ids, never tokens or secrets. */
export function collectorUrlProblem(value: string): string | undefined {
  const url = parseUrl(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return 'must be an absolute http or https URL';
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (value.includes('?') || value.includes('#')) return 'must not have a query or a fragment';
  return undefined;
}

export const observabilitySection = defineSection({
  name: 'observability',
  shape: {
    /** A separate, key-less metrics listener; its exposure is where it is bound (default 127.0.0.1). */
    // Each field optional in the schema so an environment variable can set it alone (env-overlay.ts); a missing port is reported.
    metrics: z.strictObject({ host: nonEmptyString.optional(), port: portSchema.optional() }).optional(),
    tracing: z.strictObject({
      /** OTLP/HTTP base URL (`/v1/traces` is appended), e.g. http://otel-collector:4318. */
      otlp_endpoint: urlSchema(collectorUrlProblem).optional(),
      service_name: nonEmptyString.optional(),
    }).optional(),
    reload: z.strictObject({ watch: z.boolean() }).optional(),
  },
  assemble: ({ metrics, tracing, reload }, ctx) => {
    if (metrics && metrics.port === undefined) ctx.report(['metrics', 'port'], 'is required: the port of the separate metrics listener');
    if (tracing && tracing.otlp_endpoint === undefined) ctx.report(['tracing', 'otlp_endpoint'], 'is required: where spans are sent (absent `tracing:` = tracing off)');
    return {
      ...(metrics?.port !== undefined ? { metricsListener: { host: metrics.host ?? '127.0.0.1', port: metrics.port } } : {}),
      ...(tracing?.otlp_endpoint !== undefined ? { tracing: { endpoint: tracing.otlp_endpoint, ...(tracing.service_name ? { serviceName: tracing.service_name } : {}) } } : {}),
      ...(reload ? { reloadWatch: reload.watch } : {}),
    };
  },
});
