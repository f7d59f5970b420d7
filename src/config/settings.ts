/**
 * Stage 3 of loading broker.yaml: the values every later stage needs, resolved once from the parsed and
 * overlaid fields, with their defaults and with where each came from (so a safety rule names the field or
 * the variable that set it). Pure.
 */
import path from 'node:path';
import type { BrokerMode } from '../domain/broker-config.js';
import type { Environment, Origin, Overlaid } from './env-overlay.js';
import type { BrokerFields } from './sections/index.js';
import { isMapping } from './validate.js';

export const DEFAULT_PORT = 9400;
export const DEFAULT_HOST = '127.0.0.1';

/** A value and where it came from. */
export interface Sourced<T> extends Origin {
  readonly value: T;
}

export interface Settings {
  /** How problems name the configuration (a file path, or the embedded default). */
  readonly source: string;
  readonly env: Environment;
  /** The parsed fields with the environment overlay applied. */
  readonly fields: BrokerFields;
  /** Whether the file wrote this top-level key (whether or not it validated). */
  readonly has: (key: string) => boolean;
  /** Whether the file wrote this key but its value did not validate (already reported). */
  readonly broken: (key: keyof BrokerFields) => boolean;
  readonly mode?: BrokerMode;
  readonly port: Sourced<number>;
  readonly host: Sourced<string>;
  /** Explicit, or in development `http://localhost:<port>`. */
  readonly issuer?: Sourced<string>;
  /** Only in development mode. */
  readonly devIdpPort?: Sourced<number>;
  /** Absolute; undefined when the field is broken (reported). */
  readonly catalogDir?: string;
  readonly clientsDir?: string;
  readonly keysDir?: string;
  readonly attributionFile?: string;
}

export function resolveSettings(
  raw: unknown,
  overlaid: Overlaid<BrokerFields>,
  options: { readonly source: string; readonly baseDir: string; readonly env: Environment },
): Settings {
  const { fields, origin } = overlaid;
  const has = (key: string): boolean => isMapping(raw) && raw[key] !== undefined;
  const broken = (key: keyof BrokerFields): boolean => has(key) && fields[key] === undefined;
  const sourced = <T>(value: T | undefined, fieldPath: string): Sourced<T> | undefined =>
    value === undefined ? undefined : { value, ...origin(fieldPath) };
  const mode = fields.mode;
  const port = sourced(fields.port, 'port') ?? { value: DEFAULT_PORT, file: options.source, path: 'port' };
  const host = sourced(fields.host, 'host') ?? { value: DEFAULT_HOST, file: options.source, path: 'host' };
  const issuer = sourced(fields.issuer, 'issuer')
    ?? (mode === 'development' ? { value: `http://localhost:${port.value}`, file: port.file, path: port.path } : undefined);
  const devIdpPort = mode === 'development' ? sourced(fields.dev_identity_provider?.port, 'dev_identity_provider.port') : undefined;
  // File values resolve against the file's directory; overlaid values are already absolute.
  const dir = (key: 'catalog_dir' | 'clients_dir' | 'keys_dir', fallback: string): string | undefined => {
    const value = fields[key];
    if (value === undefined && broken(key)) return undefined;
    return path.resolve(options.baseDir, value ?? fallback);
  };
  return {
    source: options.source,
    env: options.env,
    fields,
    has,
    broken,
    mode,
    port,
    host,
    issuer,
    devIdpPort,
    catalogDir: dir('catalog_dir', 'scopes'),
    clientsDir: dir('clients_dir', 'clients'),
    keysDir: dir('keys_dir', 'keys'),
    attributionFile: path.resolve(options.baseDir, fields.attribution?.file ?? path.join('data', 'attribution.jsonl')),
  };
}

