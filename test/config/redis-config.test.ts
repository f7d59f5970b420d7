/** broker.yaml `redis:`: one of url / sentinel / cluster, secrets by reference, field-level problems. */
import { describe, expect, it } from 'vitest';
import { buildBrokerConfig } from '../../src/config/load-broker-config.js';
import { problemsOf } from './helpers.js';

const base = { mode: 'production', issuer: 'https://broker.example.com', trusted_issuers: [{ issuer: 'https://login.example.com', audiences: ['https://broker.example.com'] }] };
const build = (redis: unknown, env: Record<string, string | undefined> = {}) =>
  buildBrokerConfig({ ...base, redis }, { source: 'broker.yaml', baseDir: '/etc/broker', env });

describe('redis settings', () => {
  it('accepts a url with the defaults: prefix broker:, 500 ms commands, a 1 s propagation window', () => {
    expect(build({ url: 'redis://redis:6379/0' }).redis).toEqual({
      url: 'redis://redis:6379/0', prefix: 'broker:', commandTimeoutMs: 500, propagationWindowMs: 1000,
    });
  });

  it('accepts a Sentinel group with secrets named by environment variable or file, TLS and a database', () => {
    const config = build({
      sentinel: { sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }], name: 'broker', password_file: 'secrets/sentinel' },
      username: 'broker', password_env: 'REDIS_PASSWORD', tls: { ca_file: 'ca.pem', servername: 'redis.internal' }, db: 2,
      prefix: 'tenant-a:', command_timeout: '250ms', propagation_window: '2s',
    }, { REDIS_PASSWORD: 'not-in-the-config' });
    expect(config.redis).toEqual({
      sentinel: { sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }], name: 'broker', password: { file: '/etc/broker/secrets/sentinel' } },
      username: 'broker', password: { env: 'REDIS_PASSWORD' }, tls: { caFile: '/etc/broker/ca.pem', servername: 'redis.internal' }, db: 2,
      prefix: 'tenant-a:', commandTimeoutMs: 250, propagationWindowMs: 2000,
    });
    expect(JSON.stringify(config)).not.toContain('not-in-the-config');
  });

  it('accepts a cluster by nodes or by urls', () => {
    expect(build({ cluster: { nodes: [{ host: 'r1', port: 7000 }] }, tls: true }).redis).toMatchObject({ cluster: { nodes: [{ host: 'r1', port: 7000 }] }, tls: {} });
    expect(build({ cluster: { urls: ['redis://r1:7000', 'rediss://r2'] } }).redis).toMatchObject({ cluster: { nodes: [{ host: 'r1', port: 7000 }, { host: 'r2', port: 6379 }] } });
  });

  it('lets REDIS_URL replace the url, and refuses it next to a sentinel or cluster', () => {
    expect(build({ url: 'redis://file:6379', prefix: 'p:' }, { REDIS_URL: 'rediss://env:6380' }).redis).toMatchObject({ url: 'rediss://env:6380', prefix: 'p:' });
    expect(buildBrokerConfig(base, { source: 'broker.yaml', baseDir: '/', env: { REDIS_URL: 'redis://env:6379' } }).redis).toMatchObject({ url: 'redis://env:6379' });
    expect(problemsOf(() => build({ cluster: { nodes: [{ host: 'r1', port: 7000 }] } }, { REDIS_URL: 'redis://env:6379' })))
      .toEqual(['environment: REDIS_URL: conflicts with redis.cluster; unset one of them']);
  });

  it('accepts replica_acks (WAIT) with a timeout defaulting to 1 s', () => {
    expect(build({ url: 'redis://r', replica_acks: { replicas: 1 } }).redis).toMatchObject({ replicaAcks: { replicas: 1, timeoutMs: 1000 } });
    expect(build({ sentinel: { sentinels: [{ host: 's', port: 26379 }], name: 'm' }, replica_acks: { replicas: 2, timeout: '3s' } }).redis)
      .toMatchObject({ replicaAcks: { replicas: 2, timeoutMs: 3000 } });
  });

  it('refuses replica_acks with a cluster, and out-of-range counts and timeouts', () => {
    expect(problemsOf(() => build({ cluster: { nodes: [{ host: 'r', port: 7000 }] }, replica_acks: { replicas: 1 } })))
      .toEqual(['broker.yaml: redis.replica_acks: is not available with a cluster (use a single master with replicas, or Sentinel)']);
    expect(problemsOf(() => build({ url: 'redis://r', replica_acks: { replicas: 0 } }))[0]).toMatch(/^broker\.yaml: redis\.replica_acks\.replicas: /u);
    expect(problemsOf(() => build({ url: 'redis://r', replica_acks: { replicas: 1, timeout: '1m' } }))).toEqual(['broker.yaml: redis.replica_acks.timeout: must be at most 10000ms (got 60000ms)']);
  });

  it('names the field of every problem', () => {
    expect(problemsOf(() => build({ url: 'redis://a', cluster: { nodes: [{ host: 'b', port: 1 }] } })))
      .toEqual(['broker.yaml: redis.cluster: give exactly one of url, sentinel or cluster (also given: url)']);
    expect(problemsOf(() => build({ prefix: 'x:' }))).toEqual(['broker.yaml: redis: needs exactly one of url, sentinel or cluster (or the REDIS_URL environment variable)']);
    expect(problemsOf(() => build({ url: 'http://redis:6379' }))).toEqual(['broker.yaml: redis.url: must be a redis:// or rediss:// URL']);
    expect(problemsOf(() => build({ url: 'redis://r', password: 'hunter2' })))
      .toEqual(['broker.yaml: redis.password: must not be written in the configuration; use password_env (an environment variable name) or password_file']);
    expect(problemsOf(() => build({ url: 'redis://r', password_env: 'UNSET_PASSWORD' }))).toEqual(['broker.yaml: redis.password_env: names UNSET_PASSWORD, which is not set']);
    expect(problemsOf(() => build({ cluster: { nodes: [{ host: 'r', port: 7000 }] }, db: 1 }))).toEqual(['broker.yaml: redis.db: is not available with a cluster (a cluster has only database 0)']);
    expect(problemsOf(() => build({ cluster: {} }))).toEqual(['broker.yaml: redis.cluster: needs exactly one of nodes or urls']);
    expect(problemsOf(() => build({ sentinel: { sentinels: [], name: 'm' } }))).toEqual(['broker.yaml: redis.sentinel.sentinels: must not be empty']);
    expect(problemsOf(() => build({ url: 'redis://r', prefix: 'broker{x}:' }))[0]).toMatch(/^broker\.yaml: redis\.prefix: must be 1-64 characters without spaces, "\{" or "\}"/u);
    expect(problemsOf(() => build({ url: 'redis://r', propagation_window: '100ms' }))).toEqual(['broker.yaml: redis.propagation_window: must be at least 250ms (got 100ms)']);
    expect(problemsOf(() => build({ url: 'redis://r', propagation_window: '1m' }))).toEqual(['broker.yaml: redis.propagation_window: must be at most 10000ms (got 60000ms)']);
    expect(problemsOf(() => build({ url: 'redis://r', sentinels: [] }))).toEqual(['broker.yaml: redis.sentinels: unknown key (did you mean "sentinel"?)']);
  });
});
