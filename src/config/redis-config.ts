/**
 * The `redis:` section of broker.yaml: exactly one of `url`, `sentinel` or `cluster`, plus connection
 * options that are safe to expose. Secrets are named by reference (`password_env` / `password_file`),
 * never written inline. REDIS_URL (environment) replaces `url`.
 */
import path from 'node:path';
import { z } from 'zod';
import type { RedisNodeAddress, RedisSettings, SecretReference } from '../domain/broker-config.js';
import { durationMillis, nonEmptyString, type Problems } from './validate.js';

export const DEFAULT_REDIS_PREFIX = 'broker:';
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 500;
export const DEFAULT_PROPAGATION_WINDOW_MS = 1000;
export const DEFAULT_REPLICA_ACK_TIMEOUT_MS = 1000;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/u;
const nodeSchema = z.strictObject({ host: nonEmptyString, port: z.number().int().min(1).max(65535) });
const envNameSchema = z.string().regex(ENV_NAME, 'must be an environment variable name');

function redisUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a redis:// or rediss:// URL';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return 'must be a redis:// or rediss:// URL';
  return undefined;
}

const redisUrlSchema = z.string().superRefine((value, ctx) => {
  const problem = redisUrlProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/** `password_env` or `password_file`, never both; a literal `password` is refused with a pointer to these. */
const secretShape = {
  password: z.unknown().optional(),
  password_env: envNameSchema.optional(),
  password_file: nonEmptyString.optional(),
};

export const redisSchema = z.strictObject({
  url: redisUrlSchema.optional(),
  sentinel: z.strictObject({
    sentinels: z.array(nodeSchema).min(1),
    name: nonEmptyString,
    ...secretShape,
  }).optional(),
  cluster: z.strictObject({
    nodes: z.array(nodeSchema).min(1).optional(),
    urls: z.array(redisUrlSchema).min(1).optional(),
  }).optional(),
  prefix: z.string().regex(/^[^{}\s]{1,64}$/u, 'must be 1-64 characters without spaces, "{" or "}" (keys carry their own hash tags)').optional(),
  username: nonEmptyString.optional(),
  ...secretShape,
  tls: z.union([z.boolean(), z.strictObject({ ca_file: nonEmptyString.optional(), servername: nonEmptyString.optional() })]).optional(),
  db: z.number().int().min(0).max(255).optional(),
  command_timeout: durationMillis({ min: 50, max: 10_000 }).optional(),
  propagation_window: durationMillis({ min: 250, max: 10_000 }).optional(),
  replica_acks: z.strictObject({
    replicas: z.number().int().min(1).max(16),
    timeout: durationMillis({ min: 10, max: 10_000 }).optional(),
  }).optional(),
});

export type RedisFields = z.infer<typeof redisSchema>;

interface Context {
  readonly source: string;
  readonly baseDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** REDIS_URL, when set. */
  readonly envUrl?: string;
  readonly problems: Pick<Problems, 'add'>;
}

function secretFrom(fields: { password?: unknown; password_env?: string; password_file?: string }, at: string, ctx: Context): SecretReference | undefined {
  if (fields.password !== undefined) {
    ctx.problems.add(ctx.source, `${at}.password`, 'must not be written in the configuration; use password_env (an environment variable name) or password_file');
  }
  if (fields.password_env !== undefined && fields.password_file !== undefined) {
    ctx.problems.add(ctx.source, `${at}.password_env`, 'give password_env or password_file, not both');
    return undefined;
  }
  if (fields.password_env !== undefined) {
    const value = ctx.env[fields.password_env];
    if (value === undefined || value === '') ctx.problems.add(ctx.source, `${at}.password_env`, `names ${fields.password_env}, which is not set`);
    return { env: fields.password_env };
  }
  if (fields.password_file !== undefined) return { file: path.resolve(ctx.baseDir, fields.password_file) };
  return undefined;
}

function nodeFromUrl(value: string): RedisNodeAddress {
  const url = new URL(value);
  return { host: url.hostname.replace(/^\[|\]$/gu, ''), port: url.port === '' ? 6379 : Number(url.port) };
}

/** The validated settings, or undefined (problems recorded) when there is no Redis or the section is broken. */
export function redisSettingsFrom(fields: RedisFields | undefined, ctx: Context): RedisSettings | undefined {
  const { source, problems, envUrl } = ctx;
  if (envUrl !== undefined) {
    const problem = redisUrlProblem(envUrl);
    if (problem !== undefined) problems.add('environment', 'REDIS_URL', problem);
    if (fields?.sentinel || fields?.cluster) {
      problems.add('environment', 'REDIS_URL', `conflicts with redis.${fields.sentinel ? 'sentinel' : 'cluster'}; unset one of them`);
    }
  }
  if (!fields && envUrl === undefined) return undefined;
  const f = fields ?? {};
  const given = (['url', 'sentinel', 'cluster'] as const).filter((k) => f[k] !== undefined);
  if (given.length > 1) {
    problems.add(source, `redis.${given[1] ?? ''}`, `give exactly one of url, sentinel or cluster (also given: ${given[0] ?? ''})`);
    return undefined;
  }
  if (given.length === 0 && envUrl === undefined) {
    problems.add(source, 'redis', 'needs exactly one of url, sentinel or cluster (or the REDIS_URL environment variable)');
    return undefined;
  }
  if (f.cluster && (f.cluster.nodes === undefined) === (f.cluster.urls === undefined)) {
    problems.add(source, 'redis.cluster', 'needs exactly one of nodes or urls');
    return undefined;
  }
  if (f.cluster && f.db !== undefined) problems.add(source, 'redis.db', 'is not available with a cluster (a cluster has only database 0)');
  if (f.cluster && f.replica_acks !== undefined) problems.add(source, 'redis.replica_acks', 'is not available with a cluster (use a single master with replicas, or Sentinel)');

  const password = secretFrom(f, 'redis', ctx);
  const sentinelPassword = f.sentinel ? secretFrom(f.sentinel, 'redis.sentinel', ctx) : undefined;
  let endpoint: RedisSettings;
  const common = {
    prefix: f.prefix ?? DEFAULT_REDIS_PREFIX,
    ...(f.username === undefined ? {} : { username: f.username }),
    ...(password ? { password } : {}),
    ...(f.tls === undefined || f.tls === false ? {} : {
      tls: f.tls === true ? {} : {
        ...(f.tls.ca_file === undefined ? {} : { caFile: path.resolve(ctx.baseDir, f.tls.ca_file) }),
        ...(f.tls.servername === undefined ? {} : { servername: f.tls.servername }),
      },
    }),
    ...(f.db === undefined ? {} : { db: f.db }),
    commandTimeoutMs: f.command_timeout ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
    propagationWindowMs: f.propagation_window ?? DEFAULT_PROPAGATION_WINDOW_MS,
    ...(f.replica_acks === undefined ? {} : { replicaAcks: { replicas: f.replica_acks.replicas, timeoutMs: f.replica_acks.timeout ?? DEFAULT_REPLICA_ACK_TIMEOUT_MS } }),
  };
  if (envUrl !== undefined || f.url !== undefined) {
    endpoint = { url: envUrl ?? f.url ?? '', ...common };
  } else if (f.sentinel) {
    endpoint = { sentinel: { sentinels: f.sentinel.sentinels, name: f.sentinel.name, ...(sentinelPassword ? { password: sentinelPassword } : {}) }, ...common };
  } else {
    const nodes = f.cluster?.nodes ?? (f.cluster?.urls ?? []).map(nodeFromUrl);
    endpoint = { cluster: { nodes }, ...common };
  }
  return endpoint;
}
