/**
 * The broker's own configuration: a YAML file (or, with no file at all, the embedded development default),
 * loaded in stages (assemble.ts): section schemas, the environment overlay, safety rules that keep a
 * development setup from ever facing a network and development-only machinery out of production, assembly.
 * Problems are collected across all stages and thrown as one ConfigError.
 */
import path from 'node:path';
import type { BrokerConfig } from '../domain/broker-config.js';
import { ConfigError } from './config-error.js';
import { collectBrokerConfig, type BrokerConfigCollection, type BuildBrokerConfigOptions } from './assemble.js';
import { ENVIRONMENT_SOURCE, envValue } from './env-overlay.js';
import { DEFAULT_DEV_IDP_PORT } from './sections/dev-identity-provider.js';
import { Problems } from './validate.js';
import { displayPath, readYamlFile } from './yaml-files.js';

export { collectBrokerConfig, type BrokerConfigCollection, type BuildBrokerConfigOptions } from './assemble.js';
export { ENVIRONMENT_SOURCE } from './env-overlay.js';
export { DEFAULT_HOST, DEFAULT_PORT } from './settings.js';
export { brokerIssuerProblem, isLoopbackBindHost, isLoopbackUrl } from './urls.js';
export { DEFAULT_DEV_IDP_PORT } from './sections/dev-identity-provider.js';
export { DEFAULT_CLOCK_SKEW_SECONDS, DEFAULT_LIMITS, DEFAULT_MAX_DELEGATION_DEPTH, DEFAULT_UPSTREAM_TIMEOUT_MS } from './sections/exchange.js';
export { DEFAULT_TRUSTED_ALGORITHMS } from './sections/trusted-issuers.js';
export { DEFAULT_PER_SOURCE_LIMIT, DEFAULT_RATE_LIMITS } from './sections/rate-limits.js';
export { DEFAULT_KILL_SWITCH } from './sections/kill-switch.js';
export { DEFAULT_ATTRIBUTION_ROTATION, DEFAULT_MIN_FREE_BYTES, DEFAULT_UNAUTHENTICATED_INTERVAL_MS, MIN_ROTATE_BYTES } from './sections/attribution.js';

export const EMBEDDED_DEFAULT_SOURCE = 'embedded development default';

/** What the embedded development default amounts to, written as a configuration file. */
const EMBEDDED_DEFAULT: Readonly<Record<string, unknown>> = {
  mode: 'development',
  dev_identity_provider: { port: DEFAULT_DEV_IDP_PORT },
};

/** The problems, or (should a stage have stopped without saying why) one naming the configuration as a whole. */
function failure(problems: Problems, source: string): ConfigError {
  return new ConfigError(problems.size > 0 ? problems.list : [{ file: source, path: '', message: 'is not a valid configuration' }]);
}

/** Validates a parsed configuration file (or the embedded default) with environment overrides. Throws ConfigError. */
export function buildBrokerConfig(raw: unknown, options: BuildBrokerConfigOptions): BrokerConfig {
  const problems = new Problems();
  const { config } = collectBrokerConfig(raw, options, problems);
  if (problems.size > 0 || !config) throw failure(problems, options.source);
  return config;
}

export interface LoadBrokerConfigOptions {
  /** The configuration file; default: env BROKER_CONFIG; neither = the embedded development default. */
  readonly file?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** Reads the configuration file (or takes the embedded default), records problems. */
export async function collectBrokerConfigFromDisk(options: LoadBrokerConfigOptions, problems: Problems): Promise<BrokerConfigCollection> {
  const { env, cwd } = options;
  const file = options.file ?? envValue(env, 'BROKER_CONFIG');
  if (file === undefined) {
    if (envValue(env, 'NODE_ENV') === 'production') {
      problems.add(
        ENVIRONMENT_SOURCE,
        'NODE_ENV',
        'no configuration file was given (--config or BROKER_CONFIG): the embedded development default is refused under NODE_ENV=production',
      );
      return {};
    }
    return collectBrokerConfig(EMBEDDED_DEFAULT, { source: EMBEDDED_DEFAULT_SOURCE, baseDir: cwd, env, cwd }, problems);
  }
  const absolute = path.resolve(cwd, file);
  const source = displayPath(absolute, cwd);
  const parsed = await readYamlFile(absolute, source, problems);
  if (!parsed) return {};
  return collectBrokerConfig(parsed.data, { source, baseDir: path.dirname(absolute), env, cwd }, problems);
}

/** Loads and validates the broker configuration. Throws ConfigError listing every problem. */
export async function loadBrokerConfig(options: LoadBrokerConfigOptions): Promise<BrokerConfig> {
  const problems = new Problems();
  const { config } = await collectBrokerConfigFromDisk(options, problems);
  if (problems.size > 0 || !config) throw failure(problems, options.file ?? EMBEDDED_DEFAULT_SOURCE);
  return config;
}
