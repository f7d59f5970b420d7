/**
 * One section of broker.yaml: the top-level keys it owns with their zod schemas, and how its part of
 * `BrokerConfig` is assembled from the parsed (and environment-overlaid) values. A section never reads
 * the environment or another file itself; cross-section checks are safety rules (../safety-rules.ts).
 */
import type { z } from 'zod';
import type { BrokerConfig } from '../../domain/broker-config.js';
import type { Settings } from '../settings.js';
import type { ParsedFields, Path, Shape } from '../validate.js';

/** What assembly may use besides the section's own fields. */
export interface AssemblyContext {
  /** The resolved core values (mode, issuer, port, directories ...), each with where it came from. */
  readonly settings: Settings;
  /** Relative paths in the file resolve against this directory. */
  readonly baseDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Records a problem in the configuration file at `path`. */
  report(path: Path | string, message: string): void;
  /** Records a problem in another source (e.g. `environment`). */
  reportIn(file: string, path: Path | string, message: string): void;
}

export interface ConfigSection<S extends Shape> {
  /** A short name, for errors of the registry itself. */
  readonly name: string;
  /** The top-level keys this section owns; their order is the order their problems are reported in. */
  readonly shape: S;
  /**
   * This section's part of the configuration, from its fields as parsed (keys that failed validation are
   * absent and already reported). Returns undefined when the part cannot be built; problems go to `ctx`.
   */
  assemble(fields: ParsedFields<S>, ctx: AssemblyContext): Partial<BrokerConfig> | undefined;
}

/** Identity with inference: `export const section = defineSection({ name, shape: {...}, assemble })`. */
export function defineSection<S extends Shape>(section: ConfigSection<S>): ConfigSection<S> {
  return section;
}

/** The parsed value type of one schema (for assemble helpers). */
export type Parsed<T extends z.ZodType> = z.output<T>;
