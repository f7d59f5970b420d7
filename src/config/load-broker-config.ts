/**
 * The broker's own configuration: a YAML file (or, with no file at all, the embedded development default),
 * then environment overrides, then safety rules that keep a development setup from ever facing a network
 * and keep development-only machinery out of production.
 */
import { signInFrom, signInSchema } from '../sign-in/sign-in-config.js';
import path from 'node:path';
import { z } from 'zod';
import type { BrokerConfig, BrokerMode, TrustedIssuer } from '../domain/broker-config.js';
import { ConfigError } from './config-error.js';
import { isKeyHash, isLegacyScryptKeyHash } from '../auth/key-hash.js';
import { canonicalResource } from '../domain/resource.js';
import { algorithmSchema, jwksSchema, toJwk } from './load-agents.js';
import {
  byteSize,
  check,
  describeValue,
  durationMillis,
  durationSeconds,
  isMapping,
  nonEmptyString,
  parseFields,
  Problems,
  uniqueList,
} from './validate.js';
import { displayPath, readYamlFile } from './yaml-files.js';
import { redisSchema, redisSettingsFrom } from './redis-config.js';

export const EMBEDDED_DEFAULT_SOURCE = 'embedded development default';
/** The `file` of problems about environment variables. */
export const ENVIRONMENT_SOURCE = 'environment';

export const DEFAULT_PORT = 9400;
export const DEFAULT_DEV_IDP_PORT = 9401;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_LIMITS = { maxBodyBytes: 49152, maxTokenChars: 16384, maxScopes: 32 } as const;
export const DEFAULT_MAX_DELEGATION_DEPTH = 4;
export const DEFAULT_CLOCK_SKEW_SECONDS = 10;
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 2000;
export const DEFAULT_TRUSTED_ALGORITHMS = ['ES256', 'RS256'] as const;

const MODES = ['development', 'production'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

/** What the embedded development default amounts to, written as a configuration file. */
const EMBEDDED_DEFAULT: Readonly<Record<string, unknown>> = {
  mode: 'development',
  dev_identity_provider: { port: DEFAULT_DEV_IDP_PORT },
};

const LOOPBACK_URL_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);
const LOOPBACK_BIND_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '::1']);

export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_URL_HOSTS.has(url.hostname);
}

export function isLoopbackBindHost(host: string): boolean {
  return LOOPBACK_BIND_HOSTS.has(host.toLowerCase());
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** Why `value` is not an acceptable broker issuer identifier (mode-independent rules), or undefined. */
export function brokerIssuerProblem(value: string): string | undefined {
  const url = parseUrl(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    return 'must be an absolute https URL, e.g. "https://broker.example.com"';
  }
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (value.includes('?')) return 'must not have a query';
  if (value.includes('#')) return 'must not have a fragment';
  if (value.endsWith('/')) return 'must not end with a slash';
  const normalized = url.pathname === '/' ? url.origin : `${url.origin}${url.pathname}`;
  if (normalized !== value) return `must be written in normalized form "${normalized}"`;
  return undefined;
}

/** Why `value` is not an acceptable URL of a remote party (https, or http on loopback only), or undefined. */
function remoteUrlProblem(value: string, allowQuery: boolean): string | undefined {
  const url = parseUrl(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return 'must be an absolute https URL';
  if (url.protocol === 'http:' && !isLoopbackUrl(url)) {
    return 'must use https (http is accepted only for localhost, 127.0.0.1 or [::1])';
  }
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (!allowQuery && value.includes('?')) return 'must not have a query';
  if (value.includes('#')) return 'must not have a fragment';
  return undefined;
}

function urlSchema(check: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const problem = check(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
}

const portSchema = z.number().int().min(1).max(65535);

const trustedIssuerSchema = z.strictObject({
  issuer: urlSchema((value) => remoteUrlProblem(value, false)),
  jwks_uri: urlSchema((value) => remoteUrlProblem(value, true)).optional(),
  audiences: uniqueList(nonEmptyString, 'audience').min(1),
  algorithms: uniqueList(algorithmSchema, 'algorithm')
    .min(1)
    .default([...DEFAULT_TRUSTED_ALGORITHMS]),
  scope_claim: z.enum(['scope', 'scp']).default('scope'),
  token_types: uniqueList(nonEmptyString, 'token type').min(1).default(['at+jwt']),
  max_token_age: durationSeconds().optional(),
  issues_actor_tokens: z.boolean().default(false),
});

const keyIdSchema = z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/u, 'must be 1-64 characters of A-Z a-z 0-9 . _ @ -');
/**
 * The keyed hash of an admin or validator key (`hmac-sha256$…`). The scrypt form of earlier versions is refused
 * with the fix: hashing random 256-bit keys with scrypt only gave attackers a way to stall the broker.
 */
const keyHashSchema = z.string().superRefine((value, ctx) => {
  if (isKeyHash(value)) return;
  ctx.addIssue({
    code: 'custom',
    message: isLegacyScryptKeyHash(value)
      ? 'is an scrypt hash from an earlier version; keys are now checked with a keyed hash: print the new form of the same key with `broker admin-key --rehash` (key on standard input), or create a new key with `broker admin-key --id <id>`'
      : 'must be a hash from `broker admin-key` (hmac-sha256$…), never the key itself',
  });
});

/** An admin key: who holds it (recorded as who acted), the hash of its secret (`broker admin-key` prints both), its role. */
const keyEntrySchema = z.strictObject({
  id: keyIdSchema,
  hash: keyHashSchema,
  role: z.enum(['viewer', 'operator']).optional(),
});

/** A validator key (a resource client): a key hash and/or public keys for private_key_jwt; optional resources. */
const validatorKeySchema = z.strictObject({
  id: keyIdSchema,
  hash: keyHashSchema.optional(),
  jwks: jwksSchema.optional(),
  resources: z.array(z.string().refine((value) => canonicalResource(value) !== undefined, 'must be an absolute resource identifier without a fragment')).min(1).optional(),
}).refine((entry) => entry.hash !== undefined || entry.jwks !== undefined, 'needs a hash (from `broker admin-key`) or jwks (public keys for private_key_jwt)');

const secretCheckLimitSchema = z.strictObject({ limit: z.number().int().min(1).max(100_000), window: durationMillis({ min: 1000, max: 3_600_000 }) });

const rateLimitSchema = z.strictObject({ limit: z.number().int().min(1), window: durationMillis({ min: 1000, max: 3_600_000 }) });

/** On unless a configuration says `off`: generous enough for real agents, tight enough to stop a runaway one. */
/** Before client authentication, per caller address (issue 14 item 5): far above one agent's own limit. */
export const DEFAULT_PER_SOURCE_LIMIT = { limit: 6000, windowMs: 60_000 } as const;
export const DEFAULT_RATE_LIMITS = {
  perAgent: { limit: 1200, windowMs: 60_000 },
  perAgentTool: { limit: 600, windowMs: 60_000 },
  perSource: DEFAULT_PER_SOURCE_LIMIT,
} as const;
/** Unauthenticated denials from one address become one aggregate record per this interval. */
export const DEFAULT_UNAUTHENTICATED_INTERVAL_MS = 10_000;
/** Below this much free space on the attribution file's disk, /readyz says not ready and a warning is logged. */
export const DEFAULT_MIN_FREE_BYTES = 256 * 1024 * 1024;
export const DEFAULT_KILL_SWITCH = {
  rateLimitHits: { count: 50, windowMs: 60_000 },
  denialRatio: { ratio: 0.8, minRequests: 50, windowMs: 300_000 },
} as const;

/** File sink rotation unless a configuration says `rotate: off`. */
export const DEFAULT_ATTRIBUTION_ROTATION = { maxBytes: 256 * 1024 * 1024 } as const;
export const MIN_ROTATE_BYTES = 64 * 1024;

const rotateObjectSchema = z.strictObject({
  max_bytes: byteSize({ min: MIN_ROTATE_BYTES }).optional(),
  max_age: durationSeconds({ max: 366 * 86_400 }).optional(),
});

/** `off`, or `{ max_bytes?, max_age? }` with at least one of them; problems point at the field. */
const rotateSchema = z.unknown().transform((input, ctx): 'off' | { maxBytes?: number; maxAgeSeconds?: number } => {
  if (input === 'off') return 'off';
  if (!isMapping(input)) {
    ctx.addIssue({ code: 'custom', message: `must be off, or a mapping with max_bytes and/or max_age (got ${describeValue(input)})` });
    return z.NEVER;
  }
  const result = check(rotateObjectSchema, input);
  if (!result.ok) {
    for (const issue of result.issues) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
    return z.NEVER;
  }
  const { max_bytes: maxBytes, max_age: maxAgeSeconds } = result.data;
  if (maxBytes === undefined && maxAgeSeconds === undefined) {
    ctx.addIssue({ code: 'custom', message: 'needs max_bytes and/or max_age (or write `rotate: off`)' });
    return z.NEVER;
  }
  return { ...(maxBytes === undefined ? {} : { maxBytes }), ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }) };
});

const fileShape = {
  mode: z.enum(MODES),
  issuer: urlSchema(brokerIssuerProblem).optional(),
  host: nonEmptyString.optional(),
  port: portSchema.optional(),
  catalog_dir: nonEmptyString.optional(),
  clients_dir: nonEmptyString.optional(),
  keys_dir: nonEmptyString.optional(),
  attribution: z.strictObject({
    file: nonEmptyString.optional(),
    sink: z.enum(['file', 'redis']).optional(),
    replica: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/u, 'must be 1-64 characters of A-Z a-z 0-9 . _ -').optional(),
    redact_users: z.enum(['none', 'hash']).optional(),
    redaction_key_file: nonEmptyString.optional(),
    rotate: rotateSchema.optional(),
    batch_window: durationMillis({ min: 1, max: 100 }).optional(),
    unauthenticated_interval: durationMillis({ min: 1000, max: 300_000 }).optional(),
    min_free: z.union([z.literal('off'), byteSize({ min: 1024 * 1024 })]).optional(),
  }).optional(),
  delegation: z.strictObject({ max_depth: z.number().int().min(1).max(16) }).optional(),
  clock_skew: durationSeconds({ allowZero: true, max: 300 }).optional(),
  upstream_timeout: durationMillis({ min: 100, max: 60_000 }).optional(),
  upstream_max_bytes: byteSize({ min: 1024 }).optional(),
  upstream_max_keys: z.number().int().min(1).max(10_000).optional(),
  verified_token_cache: z.strictObject({ max_entries: z.number().int().min(0).max(1_000_000) }).optional(),
  limits: z
    .strictObject({
      max_body_bytes: z.number().int().min(1024).max(1024 * 1024).optional(),
      max_token_chars: z.number().int().min(1024).max(65536).optional(),
      max_scopes: z.number().int().min(1).max(256).optional(),
    })
    .optional(),
  log_level: z.enum(LOG_LEVELS).optional(),
  trusted_issuers: z.array(trustedIssuerSchema).optional(),
  dev_identity_provider: z.strictObject({ port: portSchema }).optional(),
  // Person sign-in for the console (src/sign-in/sign-in-config.ts).
  sign_in: signInSchema.optional(),
  redis: redisSchema.optional(),
  admin_keys: z.array(keyEntrySchema).optional(),
  validator_keys: z.array(validatorKeySchema).optional(),
  secret_checks: z.strictObject({
    concurrency: z.number().int().min(1).max(3).optional(),
    max_queued: z.number().int().min(0).max(1000).optional(),
    rate: z.number().min(0.1).max(1000).optional(),
    burst: z.number().int().min(1).max(10_000).optional(),
    per_address: secretCheckLimitSchema.optional(),
    per_client: secretCheckLimitSchema.optional(),
  }).optional(),
  rate_limits: z.union([z.literal('off'), z.strictObject({
    per_agent: rateLimitSchema.optional(),
    per_agent_tool: rateLimitSchema.optional(),
    per_source: z.union([z.literal('off'), rateLimitSchema]).optional(),
  })]).optional(),
  revocation_feed: z.strictObject({ max_subscribers: z.number().int().min(1).max(100_000).optional(), max_subscribers_per_key: z.number().int().min(1).max(100_000).optional() }).optional(),
  revoke_rate_limit: rateLimitSchema.optional(),
  kill_switch: z.union([z.literal('off'), z.strictObject({
    rate_limit_hits: z.strictObject({ count: z.number().int().min(1), window: durationMillis({ min: 1000, max: 3_600_000 }) }).optional(),
    denial_ratio: z.strictObject({ ratio: z.number().gt(0).lt(1), min_requests: z.number().int().min(1), window: durationMillis({ min: 1000, max: 3_600_000 }) }).optional(),
    distinct_users: z.strictObject({ max: z.number().int().min(1), window: durationMillis({ min: 1000, max: 86_400_000 }) }).optional(),
  })]).optional(),
};

export interface BuildBrokerConfigOptions {
  /** Names the configuration in problems (a file path, or the embedded default). */
  readonly source: string;
  /** Relative paths in the file (and the default directories) resolve against this directory. */
  readonly baseDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
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

/** Where a value came from, so a safety rule names the field or variable that set it. */
interface Sourced<T> {
  readonly value: T;
  readonly file: string;
  readonly path: string;
}

function envValue(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function envPort(value: string): number | undefined {
  if (!/^\d{1,5}$/u.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
}

function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** Validates one configuration (file content or embedded default) with environment overrides; records problems. */
export function collectBrokerConfig(
  raw: unknown,
  options: BuildBrokerConfigOptions,
  problems: Problems,
): BrokerConfigCollection {
  const { source, baseDir, env } = options;
  const cwd = options.cwd ?? process.cwd();
  const before = problems.size;
  const fields = parseFields(fileShape, raw, source, [], problems) ?? {};
  const rawHas = (key: string): boolean => isMapping(raw) && raw[key] !== undefined;
  const mode = fields.mode;

  const fromFile = <T>(value: T | undefined, key: string): Sourced<T> | undefined =>
    value === undefined ? undefined : { value, file: source, path: key };
  /** An environment override: `parse` returns the value, or a string saying what is wrong with the text. */
  const fromEnv = <T extends string | number>(
    name: string,
    parse: (text: string) => { value: T } | string,
  ): Sourced<T> | undefined => {
    const text = envValue(env, name);
    if (text === undefined) return undefined;
    const parsed = parse(text);
    if (typeof parsed === 'string') {
      problems.add(ENVIRONMENT_SOURCE, name, `${parsed} (got ${JSON.stringify(text)})`);
      return undefined;
    }
    return { value: parsed.value, file: ENVIRONMENT_SOURCE, path: name };
  };
  const portText = (text: string) => {
    const value = envPort(text);
    return value === undefined ? 'must be a port number from 1 to 65535' : { value };
  };
  const pathText = (text: string) => (text.trim() === '' ? 'must not be blank' : { value: path.resolve(cwd, text) });

  // Environment overrides, each validated on its own.
  const envIssuer = fromEnv('BROKER_ISSUER', (text) => brokerIssuerProblem(text) ?? { value: text });
  const envHost = fromEnv('BROKER_HOST', (text) => (text.trim() === '' ? 'must not be blank' : { value: text }));
  const envPortValue = fromEnv('BROKER_PORT', portText);
  const envLogLevel = fromEnv('BROKER_LOG_LEVEL', (text) =>
    isLogLevel(text) ? { value: text } : `must be one of ${LOG_LEVELS.join(', ')}`,
  );
  const envCatalogDir = fromEnv('BROKER_CATALOG_DIR', pathText);
  const envClientsDir = fromEnv('BROKER_CLIENTS_DIR', pathText);
  const envKeysDir = fromEnv('BROKER_KEYS_DIR', pathText);
  const envAttribution = fromEnv('BROKER_ATTRIBUTION_FILE', pathText);
  const envDevIdpPort = fromEnv('BROKER_DEV_IDP_PORT', portText);

  if (mode === 'development' && envValue(env, 'NODE_ENV') === 'production') {
    problems.add(source, 'mode', 'development mode is refused under NODE_ENV=production');
  }

  const port = envPortValue ?? fromFile(fields.port, 'port') ?? { value: DEFAULT_PORT, file: source, path: 'port' };
  const host = envHost ?? fromFile(fields.host, 'host') ?? { value: DEFAULT_HOST, file: source, path: 'host' };
  const explicitIssuer = envIssuer ?? fromFile(fields.issuer, 'issuer');
  const issuerFieldBroken = rawHas('issuer') && fields.issuer === undefined;
  let issuer: Sourced<string> | undefined = explicitIssuer;
  if (!issuer && mode === 'development') {
    issuer = { value: `http://localhost:${port.value}`, file: port.file, path: port.path };
  }

  // The development identity provider: never in production.
  let devIdpPort: Sourced<number> | undefined;
  if (mode === 'production') {
    if (rawHas('dev_identity_provider')) {
      problems.add(
        source,
        'dev_identity_provider',
        'the development identity provider can never run in production; remove this key (mode is production)',
      );
    }
    if (envValue(env, 'BROKER_DEV_IDP_PORT') !== undefined) {
      problems.add(
        ENVIRONMENT_SOURCE,
        'BROKER_DEV_IDP_PORT',
        'the development identity provider can never run in production; unset this variable (mode is production)',
      );
    }
  } else if (mode === 'development') {
    const filePort = fields.dev_identity_provider?.port;
    devIdpPort = envDevIdpPort ?? fromFile(filePort, 'dev_identity_provider.port');
    if (devIdpPort && devIdpPort.value === port.value) {
      problems.add(devIdpPort.file, devIdpPort.path, `must differ from the broker's port (${port.value})`);
    }
  }

  // Mode-specific safety rules on the final values.
  if (mode === 'development') {
    if (!isLoopbackBindHost(host.value)) {
      problems.add(
        host.file,
        host.path,
        `development mode must bind to a loopback address (localhost, 127.0.0.1 or ::1) so a development broker never faces a network; got "${host.value}"`,
      );
    }
    const url = issuer ? parseUrl(issuer.value) : undefined;
    if (issuer && url && !isLoopbackUrl(url)) {
      problems.add(
        issuer.file,
        issuer.path,
        `development mode requires a loopback issuer (localhost, 127.0.0.1 or [::1]) so a development broker never faces a network; got host "${url.hostname}"`,
      );
    }
  } else if (mode === 'production') {
    if (!issuer) {
      if (!issuerFieldBroken) problems.add(source, 'issuer', 'is required in production mode');
    } else {
      const url = parseUrl(issuer.value);
      if (url && url.protocol !== 'https:' && !isLoopbackUrl(url)) {
        problems.add(
          issuer.file,
          issuer.path,
          'production mode requires an https issuer (http is accepted only on a loopback host)',
        );
      }
    }
  }

  // Trusted issuers: the file's, plus the development identity provider when it runs.
  const trusted: TrustedIssuer[] = [];
  const seenIssuers = new Set<string>();
  (fields.trusted_issuers ?? []).forEach((entry, index) => {
    if (seenIssuers.has(entry.issuer)) {
      problems.add(source, `trusted_issuers[${index}].issuer`, `repeats the trusted issuer "${entry.issuer}"`);
      return;
    }
    seenIssuers.add(entry.issuer);
    trusted.push({
      issuer: entry.issuer,
      ...(entry.jwks_uri === undefined ? {} : { jwksUri: entry.jwks_uri }),
      audiences: entry.audiences,
      algorithms: entry.algorithms,
      scopeClaim: entry.scope_claim,
      tokenTypes: entry.token_types,
      ...(entry.max_token_age === undefined ? {} : { maxTokenAgeSeconds: entry.max_token_age }),
      issuesActorTokens: entry.issues_actor_tokens,
    });
  });
  if (devIdpPort && issuer) {
    const devIssuer = `http://localhost:${devIdpPort.value}`;
    if (!seenIssuers.has(devIssuer)) {
      trusted.push({
        issuer: devIssuer,
        audiences: [issuer.value],
        algorithms: ['ES256'],
        scopeClaim: 'scope',
        tokenTypes: ['at+jwt'],
        issuesActorTokens: false,
      });
    }
  }
  const trustedFieldBroken = rawHas('trusted_issuers') && fields.trusted_issuers === undefined;
  const devIdpRequested = mode === 'development' && (devIdpPort !== undefined || rawHas('dev_identity_provider'));
  if (mode !== undefined && trusted.length === 0 && !trustedFieldBroken && !devIdpRequested) {
    problems.add(
      source,
      'trusted_issuers',
      mode === 'development'
        ? 'lists no trusted issuer: list at least one, or enable dev_identity_provider'
        : 'must list at least one trusted issuer in production mode',
    );
  }

  // Paths: file values relative to the file's directory, environment values relative to the working directory.
  const fromBase = (value: string | undefined, fallback: string): string | undefined =>
    value === undefined ? path.resolve(baseDir, fallback) : path.resolve(baseDir, value);
  const dirFor = (
    envOverride: Sourced<string> | undefined,
    key: string,
    value: string | undefined,
    fallback: string,
  ): string | undefined => {
    if (envOverride) return envOverride.value;
    if (rawHas(key) && value === undefined) return undefined; // broken field, already reported
    return fromBase(value, fallback);
  };
  const catalogDir = dirFor(envCatalogDir, 'catalog_dir', fields.catalog_dir, 'scopes');
  const clientsDir = dirFor(envClientsDir, 'clients_dir', fields.clients_dir, 'clients');
  const keysDir = dirFor(envKeysDir, 'keys_dir', fields.keys_dir, 'keys');
  const attributionFile = envAttribution?.value ?? fromBase(fields.attribution?.file, path.join('data', 'attribution.jsonl'));

  const envRedisUrl = envValue(env, 'REDIS_URL');
  const redisBroken = rawHas('redis') && fields.redis === undefined;
  const redis = redisBroken ? undefined : redisSettingsFrom(fields.redis, { source, baseDir, env, problems, ...(envRedisUrl === undefined ? {} : { envUrl: envRedisUrl }) });
  if (fields.attribution?.sink === 'redis' && redis === undefined && !redisBroken && !rawHas('redis')) {
    problems.add(source, 'attribution.sink', 'redis needs a `redis` connection (or REDIS_URL)');
  }
  if (fields.attribution?.redact_users === 'hash' && fields.attribution.redaction_key_file === undefined) {
    problems.add(source, 'attribution.redaction_key_file', 'is required when redact_users is hash');
  }
  // One id, one key: the id is who acted (admin records) and who is asking (validator endpoints).
  const keyIds = new Set<string>();
  for (const [field, entries] of [['admin_keys', fields.admin_keys ?? []], ['validator_keys', fields.validator_keys ?? []]] as const) {
    entries.forEach((entry, index) => {
      if (keyIds.has(entry.id)) problems.add(source, `${field}[${index}].id`, `repeats the key id "${entry.id}" (ids are unique across admin_keys and validator_keys)`);
      keyIds.add(entry.id);
    });
  }
  const result = { mode, catalogDir, clientsDir };
  if (problems.size > before || mode === undefined || issuer === undefined) return result;
  if (catalogDir === undefined || clientsDir === undefined || keysDir === undefined || attributionFile === undefined) {
    return result;
  }

  const config: BrokerConfig = {
    mode,
    issuer: issuer.value,
    host: host.value,
    port: port.value,
    trustedIssuers: trusted,
    maxDelegationDepth: fields.delegation?.max_depth ?? DEFAULT_MAX_DELEGATION_DEPTH,
    clockSkewSeconds: fields.clock_skew ?? DEFAULT_CLOCK_SKEW_SECONDS,
    upstreamTimeoutMs: fields.upstream_timeout ?? DEFAULT_UPSTREAM_TIMEOUT_MS,
    ...(fields.upstream_max_bytes !== undefined ? { upstreamMaxBytes: fields.upstream_max_bytes } : {}),
    ...(fields.upstream_max_keys !== undefined ? { upstreamMaxKeys: fields.upstream_max_keys } : {}),
    ...(fields.verified_token_cache ? { verifiedTokenCacheEntries: fields.verified_token_cache.max_entries } : {}),
    catalogDir,
    clientsDir,
    keysDir,
    attribution: {
      file: attributionFile,
      ...(fields.attribution?.sink ? { sink: fields.attribution.sink } : {}),
      ...(fields.attribution?.replica ? { replica: fields.attribution.replica } : {}),
      ...(fields.attribution?.redact_users ? { redactUsers: fields.attribution.redact_users } : {}),
      ...(fields.attribution?.redaction_key_file ? { redactionKeyFile: path.resolve(baseDir, fields.attribution.redaction_key_file) } : {}),
      ...rotationFrom(fields.attribution?.rotate),
      ...(fields.attribution?.batch_window === undefined ? {} : { batchWindowMs: fields.attribution.batch_window }),
      unauthenticatedIntervalMs: fields.attribution?.unauthenticated_interval ?? DEFAULT_UNAUTHENTICATED_INTERVAL_MS,
      ...(fields.attribution?.min_free === 'off' ? {} : { minFreeBytes: fields.attribution?.min_free ?? DEFAULT_MIN_FREE_BYTES }),
    },
    limits: {
      maxBodyBytes: fields.limits?.max_body_bytes ?? DEFAULT_LIMITS.maxBodyBytes,
      maxTokenChars: fields.limits?.max_token_chars ?? DEFAULT_LIMITS.maxTokenChars,
      maxScopes: fields.limits?.max_scopes ?? DEFAULT_LIMITS.maxScopes,
    },
    ...(devIdpPort ? { devIdentityProvider: { port: devIdpPort.value } } : {}),
    ...signInFrom(fields.sign_in, baseDir),
    ...(redis ? { redis } : {}),
    adminKeys: fields.admin_keys ?? [],
    validatorKeys: (fields.validator_keys ?? []).map((entry) => ({
      id: entry.id,
      ...(entry.hash === undefined ? {} : { hash: entry.hash }),
      ...(entry.jwks === undefined ? {} : { jwks: { keys: entry.jwks.keys.map(toJwk) } }),
      ...(entry.resources === undefined ? {} : { resources: entry.resources.map((r) => canonicalResource(r) ?? r) }),
    })),
    ...secretChecksFrom(fields.secret_checks),
    ...rateLimitsFrom(fields.rate_limits),
    ...killSwitchFrom(fields.kill_switch),
    ...(fields.revocation_feed ? { revocationFeed: { ...(fields.revocation_feed.max_subscribers ? { maxSubscribers: fields.revocation_feed.max_subscribers } : {}), ...(fields.revocation_feed.max_subscribers_per_key ? { maxPerKey: fields.revocation_feed.max_subscribers_per_key } : {}) } } : {}),
    ...(fields.revoke_rate_limit ? { revokeRateLimit: { limit: fields.revoke_rate_limit.limit, windowMs: fields.revoke_rate_limit.window } } : {}),
    logLevel: envLogLevel?.value ?? fields.log_level ?? 'info',
  };
  return { ...result, config };
}

type Fields = z.infer<z.ZodObject<typeof fileShape>>;

function rotationFrom(raw: NonNullable<Fields['attribution']>['rotate']): Pick<BrokerConfig['attribution'], 'rotate'> {
  if (raw === 'off') return {};
  return { rotate: raw ?? DEFAULT_ATTRIBUTION_ROTATION };
}

function secretChecksFrom(raw: Fields['secret_checks']): Pick<BrokerConfig, 'secretChecks'> {
  if (raw === undefined) return {};
  const limit = (r: { limit: number; window: number } | undefined) => (r ? { limit: r.limit, windowMs: r.window } : undefined);
  const perAddress = limit(raw.per_address);
  const perClient = limit(raw.per_client);
  return {
    secretChecks: {
      ...(raw.concurrency === undefined ? {} : { concurrency: raw.concurrency }),
      ...(raw.max_queued === undefined ? {} : { maxQueued: raw.max_queued }),
      ...(raw.rate === undefined ? {} : { ratePerSecond: raw.rate }),
      ...(raw.burst === undefined ? {} : { burst: raw.burst }),
      ...(perAddress ? { perAddress } : {}),
      ...(perClient ? { perClient } : {}),
    },
  };
}

function rateLimitsFrom(raw: Fields['rate_limits']): Pick<BrokerConfig, 'rateLimits'> {
  if (raw === 'off') return {};
  if (raw === undefined) return { rateLimits: DEFAULT_RATE_LIMITS };
  const limit = (r: { limit: number; window: number } | undefined) => (r ? { limit: r.limit, windowMs: r.window } : undefined);
  const perAgent = limit(raw.per_agent);
  const perAgentTool = limit(raw.per_agent_tool);
  const perSource = raw.per_source === 'off' ? undefined : limit(raw.per_source) ?? DEFAULT_PER_SOURCE_LIMIT;
  return { rateLimits: { ...(perAgent ? { perAgent } : {}), ...(perAgentTool ? { perAgentTool } : {}), ...(perSource ? { perSource } : {}) } };
}

function killSwitchFrom(raw: Fields['kill_switch']): Pick<BrokerConfig, 'killSwitch'> {
  if (raw === 'off') return {};
  if (raw === undefined) return { killSwitch: DEFAULT_KILL_SWITCH };
  return {
    killSwitch: {
      ...(raw.rate_limit_hits ? { rateLimitHits: { count: raw.rate_limit_hits.count, windowMs: raw.rate_limit_hits.window } } : {}),
      ...(raw.denial_ratio ? { denialRatio: { ratio: raw.denial_ratio.ratio, minRequests: raw.denial_ratio.min_requests, windowMs: raw.denial_ratio.window } } : {}),
      ...(raw.distinct_users ? { distinctUsers: { max: raw.distinct_users.max, windowMs: raw.distinct_users.window } } : {}),
    },
  };
}

/** Validates a parsed configuration file (or the embedded default) with environment overrides. Throws ConfigError. */
export function buildBrokerConfig(raw: unknown, options: BuildBrokerConfigOptions): BrokerConfig {
  const problems = new Problems();
  const { config } = collectBrokerConfig(raw, options, problems);
  if (problems.size > 0 || !config) {
    throw new ConfigError(problems.size > 0 ? problems.list : [{ file: options.source, path: '', message: 'is not a valid configuration' }]);
  }
  return config;
}

export interface LoadBrokerConfigOptions {
  /** The configuration file; default: env BROKER_CONFIG; neither = the embedded development default. */
  readonly file?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** Reads the configuration file (or takes the embedded default), records problems. */
export async function collectBrokerConfigFromDisk(
  options: LoadBrokerConfigOptions,
  problems: Problems,
): Promise<BrokerConfigCollection> {
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
  if (problems.size > 0 || !config) {
    throw new ConfigError(problems.size > 0 ? problems.list : [{ file: options.file ?? EMBEDDED_DEFAULT_SOURCE, path: '', message: 'is not a valid configuration' }]);
  }
  return config;
}
