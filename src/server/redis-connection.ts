/**
 * Turns the validated `redis:` settings into client options: reads the password from its environment
 * variable or file and the TLS CA bundle from its file, at start-up, so secrets never sit in the config.
 */
import { readFile } from 'node:fs/promises';
import type { RedisSettings, SecretReference } from '../domain/broker-config.js';
import type { RedisStateOptions } from '../state/redis-state.js';

async function secret(ref: SecretReference, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') throw new Error(`redis password: environment variable ${ref.env} is not set`);
    return value;
  }
  return (await readFile(ref.file, 'utf8')).trim();
}

export async function redisStateOptions(settings: RedisSettings, env: Readonly<Record<string, string | undefined>> = process.env): Promise<RedisStateOptions> {
  const common = {
    prefix: settings.prefix,
    commandTimeoutMs: settings.commandTimeoutMs,
    ...(settings.username === undefined ? {} : { username: settings.username }),
    ...(settings.password === undefined ? {} : { password: await secret(settings.password, env) }),
    ...(settings.tls === undefined ? {} : {
      tls: {
        ...(settings.tls.caFile === undefined ? {} : { ca: await readFile(settings.tls.caFile, 'utf8') }),
        ...(settings.tls.servername === undefined ? {} : { servername: settings.tls.servername }),
      },
    }),
    ...(settings.db === undefined ? {} : { db: settings.db }),
    ...(settings.replicaAcks === undefined ? {} : { replicaAcks: settings.replicaAcks }),
  };
  if ('cluster' in settings) return { cluster: { nodes: settings.cluster.nodes }, ...common };
  if ('sentinel' in settings) {
    const { sentinels, name, password } = settings.sentinel;
    return { sentinel: { sentinels, name, ...(password === undefined ? {} : { password: await secret(password, env) }) }, ...common };
  }
  return { url: settings.url, ...common };
}
