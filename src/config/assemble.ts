/**
 * broker.yaml (or the embedded development default) in stages:
 *   1. parse     every section's schema, field by field (sections/index.ts): one bad field hides nothing;
 *   2. overlay   environment variables over the parsed fields (env-overlay.ts);
 *   3. resolve   the core values with defaults and origins (settings.ts);
 *   4. rules     the named safety rules over the resolved values (safety-rules.ts);
 *   5. assemble  each section's part of BrokerConfig (sections/*.ts).
 * One way of reporting: every stage adds problems (file, field, reason) to one collector; the caller
 * throws one ConfigError with all of them. A configuration is returned only when there are none.
 */
import type { BrokerConfig, BrokerMode } from '../domain/broker-config.js';
import { overlayEnvironment, type Environment } from './env-overlay.js';
import { checkSafetyRules } from './safety-rules.js';
import { BROKER_FILE_SHAPE, SECTIONS, type BrokerFields } from './sections/index.js';
import type { AssemblyContext, ConfigSection } from './sections/section.js';
import { resolveSettings } from './settings.js';
import { parseFields, type Problems, type Shape } from './validate.js';

export interface BuildBrokerConfigOptions {
  /** Names the configuration in problems (a file path, or the embedded default). */
  readonly source: string;
  /** Relative paths in the file (and the default directories) resolve against this directory. */
  readonly baseDir: string;
  readonly env: Environment;
  /** Relative paths in environment overrides resolve against this directory (default: the process's). */
  readonly cwd?: string;
}

/** The configuration (when valid), plus what later loaders need even when it is not. */
export interface BrokerConfigCollection {
  readonly config?: BrokerConfig;
  readonly mode?: BrokerMode;
  readonly catalogDir?: string;
  readonly clientsDir?: string;
}

type RequiredKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? never : K }[keyof T];
/** The keys a configuration must have; the compiler keeps this list in step with BrokerConfig. */
const REQUIRED: Record<RequiredKeys<BrokerConfig>, true> = {
  mode: true, issuer: true, host: true, port: true, trustedIssuers: true, maxDelegationDepth: true, clockSkewSeconds: true,
  upstreamTimeoutMs: true, catalogDir: true, clientsDir: true, keysDir: true, attribution: true, limits: true,
  adminKeys: true, validatorKeys: true, logLevel: true,
};

function isComplete(draft: Partial<BrokerConfig>): draft is BrokerConfig {
  return Object.keys(REQUIRED).every((key) => draft[key as keyof BrokerConfig] !== undefined);
}

/** Validates one configuration (file content or embedded default) with environment overrides; records problems. */
export function collectBrokerConfig(raw: unknown, options: BuildBrokerConfigOptions, problems: Problems): BrokerConfigCollection {
  const { source, baseDir, env } = options;
  const before = problems.size;
  // 1. parse
  const parsed: BrokerFields = parseFields(BROKER_FILE_SHAPE, raw, source, [], problems) ?? {};
  // 2. overlay
  const overlaid = overlayEnvironment(parsed, env, { source, cwd: options.cwd ?? process.cwd(), problems });
  // 3. resolve
  const settings = resolveSettings(raw, overlaid, { source, baseDir, env });
  // 4. rules
  problems.addAll(checkSafetyRules(settings));
  // 5. assemble
  const ctx: AssemblyContext = {
    settings, baseDir, env,
    report: (path, message) => { problems.add(source, path, message); },
    reportIn: (file, path, message) => { problems.add(file, path, message); },
  };
  let draft: Partial<BrokerConfig> | undefined = {};
  for (const section of SECTIONS as readonly ConfigSection<Shape>[]) {
    const part = section.assemble(settings.fields, ctx);
    draft = part === undefined || draft === undefined ? undefined : { ...draft, ...part };
  }
  const result: BrokerConfigCollection = {
    ...(settings.mode ? { mode: settings.mode } : {}),
    ...(settings.catalogDir ? { catalogDir: settings.catalogDir } : {}),
    ...(settings.clientsDir ? { clientsDir: settings.clientsDir } : {}),
  };
  if (problems.size > before || draft === undefined || !isComplete(draft)) return result;
  return { ...result, config: draft };
}
