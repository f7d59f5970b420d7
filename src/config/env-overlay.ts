/**
 * The environment overlay: which variable replaces which field of broker.yaml, and how its text is read.
 * One row per variable; the overlay runs after the file is parsed, so a bad variable is reported as
 * `environment: NAME: why (got "text")` and leaves the file's value in place. An empty variable counts as unset.
 * Values that are paths resolve against the working directory (file values resolve against the file's).
 *
 * Not in the table: REDIS_URL (the redis section reads it: it replaces `redis.url` and conflicts with
 * `redis.sentinel`/`redis.cluster`, see redis-config.ts), BROKER_CONFIG (names the file itself) and NODE_ENV
 * (a safety rule).
 */
import path from 'node:path';
import { brokerIssuerProblem, portFromText } from './urls.js';
import { isLogLevel, LOG_LEVELS } from './sections/logging.js';
import { collectorUrlProblem } from './sections/observability.js';
import type { Problems } from './validate.js';

/** The `file` of problems about environment variables. */
export const ENVIRONMENT_SOURCE = 'environment';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface EnvironmentOverride {
  readonly name: string;
  /** The field it replaces (top-level key, then nested keys). */
  readonly path: readonly [string, ...string[]];
  /** The value, of the type the field's schema produces, or why the text is not acceptable. */
  readonly parse: (text: string, ctx: { readonly cwd: string }) => { readonly value: string | number } | string;
}

const port = (text: string) => {
  const value = portFromText(text);
  return value === undefined ? 'must be a port number from 1 to 65535' : { value };
};
const notBlank = (text: string) => (text.trim() === '' ? 'must not be blank' : { value: text });
const directory = (text: string, ctx: { readonly cwd: string }) => (text.trim() === '' ? 'must not be blank' : { value: path.resolve(ctx.cwd, text) });

/** In the order their problems are reported. */
export const ENVIRONMENT_OVERLAY: readonly EnvironmentOverride[] = [
  { name: 'BROKER_ISSUER', path: ['issuer'], parse: (text) => brokerIssuerProblem(text) ?? { value: text } },
  { name: 'BROKER_HOST', path: ['host'], parse: notBlank },
  { name: 'BROKER_PORT', path: ['port'], parse: port },
  { name: 'BROKER_LOG_LEVEL', path: ['log_level'], parse: (text) => (isLogLevel(text) ? { value: text } : `must be one of ${LOG_LEVELS.join(', ')}`) },
  { name: 'BROKER_CATALOG_DIR', path: ['catalog_dir'], parse: directory },
  { name: 'BROKER_CLIENTS_DIR', path: ['clients_dir'], parse: directory },
  { name: 'BROKER_KEYS_DIR', path: ['keys_dir'], parse: directory },
  { name: 'BROKER_ATTRIBUTION_FILE', path: ['attribution', 'file'], parse: directory },
  { name: 'BROKER_DEV_IDP_PORT', path: ['dev_identity_provider', 'port'], parse: port },
  // Issue 19 (sections/observability.ts); OTEL_* as the OpenTelemetry exporter specification names them.
  { name: 'BROKER_METRICS_PORT', path: ['metrics', 'port'], parse: port },
  { name: 'BROKER_METRICS_HOST', path: ['metrics', 'host'], parse: notBlank },
  { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', path: ['tracing', 'otlp_endpoint'], parse: (text) => collectorUrlProblem(text) ?? { value: text } },
];

/** A variable's value, with "" meaning unset. */
export function envValue(env: Environment, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** Where a value came from: the file and field, or `environment` and the variable. */
export interface Origin {
  readonly file: string;
  readonly path: string;
}

export interface Overlaid<F> {
  readonly fields: F;
  /** The origin of the value at a dotted field path (e.g. `dev_identity_provider.port`). */
  readonly origin: (fieldPath: string) => Origin;
}

function withValue(target: Readonly<Record<string, unknown>>, keys: readonly string[], value: unknown): Record<string, unknown> {
  const [key, ...rest] = keys;
  if (key === undefined) return { ...target };
  const inner = target[key];
  const child = typeof inner === 'object' && inner !== null && !Array.isArray(inner) ? (inner as Record<string, unknown>) : {};
  return { ...target, [key]: rest.length === 0 ? value : withValue(child, rest, value) };
}

/**
 * The parsed fields with every valid override applied (the input is not changed). `F` is the parsed file;
 * each row's parser yields the type its field's schema does (test/config/env-overlay.test.ts holds them to it).
 */
export function overlayEnvironment<F extends object>(
  fields: F,
  env: Environment,
  ctx: { readonly source: string; readonly cwd: string; readonly problems: Pick<Problems, 'add'> },
  table: readonly EnvironmentOverride[] = ENVIRONMENT_OVERLAY,
): Overlaid<F> {
  let out = { ...fields } as Record<string, unknown>;
  const fromEnv = new Map<string, string>();
  for (const row of table) {
    const text = envValue(env, row.name);
    if (text === undefined) continue;
    const parsed = row.parse(text, ctx);
    if (typeof parsed === 'string') {
      ctx.problems.add(ENVIRONMENT_SOURCE, row.name, `${parsed} (got ${JSON.stringify(text)})`);
      continue;
    }
    out = withValue(out, row.path, parsed.value);
    fromEnv.set(row.path.join('.'), row.name);
  }
  return {
    // Same keys, same value types: only values of the types the schemas produce were written.
    fields: out as F,
    origin: (fieldPath) => {
      const name = fromEnv.get(fieldPath);
      return name === undefined ? { file: ctx.source, path: fieldPath } : { file: ENVIRONMENT_SOURCE, path: name };
    },
  };
}
