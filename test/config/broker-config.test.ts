import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/domain/broker-config.js';
import { buildBrokerConfig, DEFAULT_ATTRIBUTION_ROTATION, DEFAULT_KILL_SWITCH, DEFAULT_MIN_FREE_BYTES, DEFAULT_PER_SOURCE_LIMIT, DEFAULT_RATE_LIMITS, DEFAULT_UNAUTHENTICATED_INTERVAL_MS, loadBrokerConfig } from '../../src/config/load-broker-config.js';

const FLOOD_DEFAULTS = { unauthenticatedIntervalMs: DEFAULT_UNAUTHENTICATED_INTERVAL_MS, minFreeBytes: DEFAULT_MIN_FREE_BYTES };
import { asyncProblemsOf, problemsOf, removeTempDirs, tempDir, writeFiles } from './helpers.js';

afterEach(removeTempDirs);

const F = 'broker.yaml';
const BASE = '/etc/broker';
const build = (raw: unknown, env: Record<string, string | undefined> = {}) =>
  buildBrokerConfig(raw, { source: F, baseDir: BASE, env, cwd: '/srv' });

const okta = { issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://broker'] };
const production = (extra: Record<string, unknown> = {}) => ({
  mode: 'production',
  issuer: 'https://broker.example.com',
  host: '0.0.0.0',
  trusted_issuers: [okta],
  ...extra,
});

function embeddedDefault(cwd: string): BrokerConfig {
  return {
    mode: 'development',
    adminKeys: [],
    validatorKeys: [],
    rateLimits: DEFAULT_RATE_LIMITS,
    killSwitch: DEFAULT_KILL_SWITCH,
    issuer: 'http://localhost:9400',
    host: '127.0.0.1',
    port: 9400,
    trustedIssuers: [
      {
        issuer: 'http://localhost:9401',
        audiences: ['http://localhost:9400'],
        algorithms: ['ES256'],
        scopeClaim: 'scope',
        tokenTypes: ['at+jwt'],
        issuesActorTokens: false,
      },
    ],
    maxDelegationDepth: 4,
    clockSkewSeconds: 10,
    upstreamTimeoutMs: 2000,
    catalogDir: path.join(cwd, 'scopes'),
    clientsDir: path.join(cwd, 'clients'),
    keysDir: path.join(cwd, 'keys'),
    attribution: { file: path.join(cwd, 'data', 'attribution.jsonl'), rotate: DEFAULT_ATTRIBUTION_ROTATION, ...FLOOD_DEFAULTS },
    limits: { maxBodyBytes: 49152, maxTokenChars: 16384, maxScopes: 32 },
    devIdentityProvider: { port: 9401 },
    logLevel: 'info',
  };
}

describe('embedded development default', () => {
  it('is used when no file is given', async () => {
    expect(await loadBrokerConfig({ env: {}, cwd: '/work/app' })).toEqual(embeddedDefault('/work/app'));
  });

  it('follows port and other environment overrides', async () => {
    const config = await loadBrokerConfig({
      env: {
        BROKER_PORT: '9500',
        BROKER_DEV_IDP_PORT: '9501',
        BROKER_LOG_LEVEL: 'debug',
        BROKER_HOST: 'localhost',
        BROKER_CATALOG_DIR: 'catalog',
        BROKER_CLIENTS_DIR: '/opt/clients',
        BROKER_KEYS_DIR: 'k',
        BROKER_ATTRIBUTION_FILE: 'audit/out.jsonl',
        BROKER_ISSUER: '', // empty = unset
      },
      cwd: '/work/app',
    });
    expect(config).toMatchObject({
      issuer: 'http://localhost:9500',
      port: 9500,
      host: 'localhost',
      logLevel: 'debug',
      devIdentityProvider: { port: 9501 },
      catalogDir: '/work/app/catalog',
      clientsDir: '/opt/clients',
      keysDir: '/work/app/k',
      attribution: { file: '/work/app/audit/out.jsonl', rotate: DEFAULT_ATTRIBUTION_ROTATION, ...FLOOD_DEFAULTS },
    });
    expect(config.trustedIssuers).toEqual([
      expect.objectContaining({ issuer: 'http://localhost:9501', audiences: ['http://localhost:9500'] }),
    ]);
  });

  it('is refused under NODE_ENV=production', async () => {
    expect(await asyncProblemsOf(loadBrokerConfig({ env: { NODE_ENV: 'production' }, cwd: '/work/app' }))).toEqual([
      'environment: NODE_ENV: no configuration file was given (--config or BROKER_CONFIG): the embedded development default is refused under NODE_ENV=production',
    ]);
  });
});

describe('loadBrokerConfig from a file', () => {
  it('reads the file named by opts.file or BROKER_CONFIG, resolving relative paths against its directory', async () => {
    const dir = await tempDir();
    await writeFiles(dir, {
      'conf/broker.yaml': [
        'mode: production',
        'issuer: https://broker.example.com',
        'host: 0.0.0.0',
        'port: 8443',
        'catalog_dir: ../catalog',
        'clients_dir: /opt/clients',
        'attribution: { file: audit.jsonl }',
        'delegation: { max_depth: 2 }',
        'clock_skew: 30s',
        'upstream_timeout: 1500ms',
        'limits: { max_scopes: 8 }',
        'log_level: warn',
        'trusted_issuers:',
        '  - issuer: https://login.example.com/',
        '    jwks_uri: https://login.example.com/keys?v=2',
        '    audiences: [api://broker]',
        '    algorithms: [RS256, PS256]',
        '    scope_claim: scp',
        '    token_types: [at+jwt, jwt]',
        '    max_token_age: 1h',
        '    issues_actor_tokens: true',
        '  - issuer: https://example.okta.com/oauth2/default',
        '    audiences: [api://broker]',
        '',
      ].join('\n'),
    });
    const expected: BrokerConfig = {
      mode: 'production',
      adminKeys: [],
    validatorKeys: [],
    rateLimits: DEFAULT_RATE_LIMITS,
    killSwitch: DEFAULT_KILL_SWITCH,
      issuer: 'https://broker.example.com',
      host: '0.0.0.0',
      port: 8443,
      trustedIssuers: [
        {
          issuer: 'https://login.example.com/',
          jwksUri: 'https://login.example.com/keys?v=2',
          audiences: ['api://broker'],
          algorithms: ['RS256', 'PS256'],
          scopeClaim: 'scp',
          tokenTypes: ['at+jwt', 'jwt'],
          maxTokenAgeSeconds: 3600,
          issuesActorTokens: true,
        },
        {
          issuer: 'https://example.okta.com/oauth2/default',
          audiences: ['api://broker'],
          algorithms: ['ES256', 'RS256'],
          scopeClaim: 'scope',
          tokenTypes: ['at+jwt'],
          issuesActorTokens: false,
        },
      ],
      maxDelegationDepth: 2,
      clockSkewSeconds: 30,
      upstreamTimeoutMs: 1500,
      catalogDir: path.join(dir, 'catalog'),
      clientsDir: '/opt/clients',
      keysDir: path.join(dir, 'conf', 'keys'),
      attribution: { file: path.join(dir, 'conf', 'audit.jsonl'), rotate: DEFAULT_ATTRIBUTION_ROTATION, ...FLOOD_DEFAULTS },
      limits: { maxBodyBytes: 49152, maxTokenChars: 16384, maxScopes: 8 },
      logLevel: 'warn',
    };
    expect(await loadBrokerConfig({ file: 'conf/broker.yaml', env: { NODE_ENV: 'production' }, cwd: dir })).toEqual(expected);
    expect(await loadBrokerConfig({ env: { BROKER_CONFIG: path.join(dir, 'conf/broker.yaml') }, cwd: '/' })).toEqual(expected);
  });

  it('reports a missing file and YAML errors with line and column', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'bad.yaml': 'mode: production\nlimits: {max_scopes: 1\n' });
    expect(await asyncProblemsOf(loadBrokerConfig({ file: 'nope.yaml', env: {}, cwd: dir }))).toEqual([
      'nope.yaml: the file does not exist',
    ]);
    const problems = await asyncProblemsOf(loadBrokerConfig({ file: 'bad.yaml', env: {}, cwd: dir }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^bad\.yaml: invalid YAML at line \d+, column \d+: /u);
  });
});

describe('buildBrokerConfig safety rules', () => {
  it('requires mode in a file and rejects unknown keys', () => {
    expect(problemsOf(() => build({ issuer: 'http://localhost:9400', dev_identity_provider: { port: 9401 }, log_levle: 'info' }))).toEqual([
      'broker.yaml: log_levle: unknown key (did you mean "log_level"?)',
      'broker.yaml: mode: is required (one of development, production)',
    ]);
  });

  it('never runs the development identity provider in production', () => {
    expect(problemsOf(() => build(production({ dev_identity_provider: { port: 9401 } })))).toEqual([
      'broker.yaml: dev_identity_provider: the development identity provider can never run in production; remove this key (mode is production)',
    ]);
    expect(problemsOf(() => build(production(), { BROKER_DEV_IDP_PORT: '9401' }))).toEqual([
      'environment: BROKER_DEV_IDP_PORT: the development identity provider can never run in production; unset this variable (mode is production)',
    ]);
  });

  it('keeps a development broker on loopback', () => {
    const dev = { mode: 'development', dev_identity_provider: { port: 9401 } };
    expect(problemsOf(() => build({ ...dev, issuer: 'http://broker.example.com' }))).toEqual([
      'broker.yaml: issuer: development mode requires a loopback issuer (localhost, 127.0.0.1 or [::1]) so a development broker never faces a network; got host "broker.example.com"',
    ]);
    expect(problemsOf(() => build({ ...dev, host: '0.0.0.0' }))).toEqual([
      'broker.yaml: host: development mode must bind to a loopback address (localhost, 127.0.0.1 or ::1) so a development broker never faces a network; got "0.0.0.0"',
    ]);
    expect(problemsOf(() => build(dev, { BROKER_HOST: '10.0.0.5', BROKER_ISSUER: 'https://10.0.0.5:9400' }))).toEqual([
      'environment: BROKER_HOST: development mode must bind to a loopback address (localhost, 127.0.0.1 or ::1) so a development broker never faces a network; got "10.0.0.5"',
      'environment: BROKER_ISSUER: development mode requires a loopback issuer (localhost, 127.0.0.1 or [::1]) so a development broker never faces a network; got host "10.0.0.5"',
    ]);
    expect(build({ ...dev, issuer: 'http://[::1]:9400', host: '::1' }).issuer).toBe('http://[::1]:9400');
  });

  it('requires an https issuer in production unless it is loopback', () => {
    expect(problemsOf(() => build(production({ issuer: 'http://broker.example.com' })))).toEqual([
      'broker.yaml: issuer: production mode requires an https issuer (http is accepted only on a loopback host)',
    ]);
    expect(build(production({ issuer: 'http://127.0.0.1:9400' })).issuer).toBe('http://127.0.0.1:9400');
    expect(problemsOf(() => build(production({ issuer: undefined })))).toEqual(['broker.yaml: issuer: is required in production mode']);
  });

  it('rejects issuers with a query, a fragment, a trailing slash or in non-normalized form', () => {
    expect(problemsOf(() => build(production({ issuer: 'https://broker.example.com/' })))).toEqual([
      'broker.yaml: issuer: must not end with a slash',
    ]);
    expect(problemsOf(() => build(production({ issuer: 'https://broker.example.com?x=1' })))).toEqual([
      'broker.yaml: issuer: must not have a query',
    ]);
    expect(problemsOf(() => build(production({ issuer: 'https://broker.example.com#f' })))).toEqual([
      'broker.yaml: issuer: must not have a fragment',
    ]);
    expect(problemsOf(() => build(production({ issuer: 'HTTPS://Broker.example.com:443' })))).toEqual([
      'broker.yaml: issuer: must be written in normalized form "https://broker.example.com"',
    ]);
    expect(problemsOf(() => build(production({ issuer: 'broker.example.com' })))).toEqual([
      'broker.yaml: issuer: must be an absolute https URL, e.g. "https://broker.example.com"',
    ]);
  });

  it('never accepts HS* or none from a trusted issuer', () => {
    expect(problemsOf(() => build(production({ trusted_issuers: [{ ...okta, algorithms: ['HS256', 'none', 'ES256', 'XYZ'] }] })))).toEqual([
      'broker.yaml: trusted_issuers[0].algorithms[0]: "HS256" is a shared-secret (HMAC) algorithm and is never accepted; use an asymmetric algorithm such as ES256 or RS256',
      'broker.yaml: trusted_issuers[0].algorithms[1]: "none" is never accepted: tokens must be signed',
      'broker.yaml: trusted_issuers[0].algorithms[3]: must be one of ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512, EdDSA, Ed25519',
    ]);
  });

  it('requires https (or loopback http) trusted issuer and JWKS URLs, and non-empty audiences', () => {
    expect(
      problemsOf(() =>
        build(
          production({
            trusted_issuers: [
              { issuer: 'http://idp.example.com', jwks_uri: 'http://idp.example.com/jwks', audiences: [] },
              { ...okta, scope_claim: 'scopes' },
              { ...okta },
            ],
          }),
        ),
      ),
    ).toEqual([
      'broker.yaml: trusted_issuers[0].issuer: must use https (http is accepted only for localhost, 127.0.0.1 or [::1])',
      'broker.yaml: trusted_issuers[0].jwks_uri: must use https (http is accepted only for localhost, 127.0.0.1 or [::1])',
      'broker.yaml: trusted_issuers[0].audiences: must not be empty',
      'broker.yaml: trusted_issuers[1].scope_claim: must be one of scope, scp',
    ]);
    expect(problemsOf(() => build(production({ trusted_issuers: [okta, okta] })))).toEqual([
      'broker.yaml: trusted_issuers[1].issuer: repeats the trusted issuer "https://example.okta.com/oauth2/default"',
    ]);
    expect(problemsOf(() => build(production({ trusted_issuers: [] })))).toEqual([
      'broker.yaml: trusted_issuers: must list at least one trusted issuer in production mode',
    ]);
    const localIdp = build(production({ trusted_issuers: [{ issuer: 'http://localhost:8080/realms/dev', audiences: ['broker'] }] }));
    expect(localIdp.trustedIssuers[0]?.issuer).toBe('http://localhost:8080/realms/dev');
  });

  it('names the variable in a bad environment override', () => {
    expect(
      problemsOf(() =>
        build(production(), {
          BROKER_PORT: 'abc',
          BROKER_LOG_LEVEL: 'verbose',
          BROKER_ISSUER: 'https://broker.example.com/',
          BROKER_CATALOG_DIR: '   ',
        }),
      ),
    ).toEqual([
      'environment: BROKER_ISSUER: must not end with a slash (got "https://broker.example.com/")',
      'environment: BROKER_PORT: must be a port number from 1 to 65535 (got "abc")',
      'environment: BROKER_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
      'environment: BROKER_CATALOG_DIR: must not be blank (got "   ")',
    ]);
    expect(problemsOf(() => build(production(), { BROKER_PORT: '70000' }))).toEqual([
      'environment: BROKER_PORT: must be a port number from 1 to 65535 (got "70000")',
    ]);
  });

  it('applies environment overrides over the file', () => {
    const config = build(production({ port: 8443, log_level: 'warn' }), { BROKER_PORT: '9443', BROKER_CLIENTS_DIR: 'c' });
    expect(config).toMatchObject({ port: 9443, logLevel: 'warn', clientsDir: '/srv/c', catalogDir: '/etc/broker/scopes' });
  });

  it('refuses development mode under NODE_ENV=production', () => {
    expect(problemsOf(() => build({ mode: 'development', dev_identity_provider: { port: 9401 } }, { NODE_ENV: 'production' }))).toEqual([
      'broker.yaml: mode: development mode is refused under NODE_ENV=production',
    ]);
  });

  it('sizes the verified-token cache (0 disables it; absent leaves the default)', () => {
    expect(build(production({ verified_token_cache: { max_entries: 0 } }))).toMatchObject({ verifiedTokenCacheEntries: 0 });
    expect(build(production({ verified_token_cache: { max_entries: 50_000 } }))).toMatchObject({ verifiedTokenCacheEntries: 50_000 });
    expect(build(production({}))).not.toHaveProperty('verifiedTokenCacheEntries');
    expect(problemsOf(() => build(production({ verified_token_cache: { max_entries: -1 } })))).toEqual([
      'broker.yaml: verified_token_cache.max_entries: must be at least 0',
    ]);
    expect(problemsOf(() => build(production({ verified_token_cache: { size: 5 } })))).toEqual([
      'broker.yaml: verified_token_cache.max_entries: is required',
      'broker.yaml: verified_token_cache.size: unknown key (allowed: max_entries)',
    ]);
  });

  it('validates the remaining settings', () => {
    expect(
      problemsOf(() =>
        build(
          production({
            port: 0,
            clock_skew: '10m',
            upstream_timeout: 'fast',
            delegation: { max_depth: 0 },
            limits: { max_body_bytes: 10, extra: 1 },
            log_level: 'loud',
            attribution: { sink: 'kafka' },
          }),
        ),
      ),
    ).toEqual([
      'broker.yaml: port: must be at least 1',
      'broker.yaml: attribution.sink: must be one of file, redis',
      'broker.yaml: delegation.max_depth: must be at least 1',
      'broker.yaml: clock_skew: must be at most 5m (got 10m)',
      'broker.yaml: upstream_timeout: must be a whole number of seconds or a duration like "500ms", "2s" or "1m"',
      'broker.yaml: limits.max_body_bytes: must be at least 1024',
      'broker.yaml: limits.extra: unknown key (allowed: max_body_bytes, max_token_chars, max_scopes)',
      'broker.yaml: log_level: must be one of fatal, error, warn, info, debug, trace, silent',
    ]);
    expect(
      problemsOf(() => build({ mode: 'development', dev_identity_provider: { port: 9400 } })),
    ).toEqual(["broker.yaml: dev_identity_provider.port: must differ from the broker's port (9400)"]);
    expect(problemsOf(() => build({ mode: 'development' }))).toEqual([
      'broker.yaml: trusted_issuers: lists no trusted issuer: list at least one, or enable dev_identity_provider',
    ]);
  });
});

describe('rate limits and the kill switch', () => {
  const base = { mode: 'production', issuer: 'https://broker.example.com', trusted_issuers: [{ issuer: 'https://login.example.com', audiences: ['https://broker.example.com'] }] };
  const build = (extra: Record<string, unknown>) => buildBrokerConfig({ ...base, ...extra }, { source: 'broker.yaml', baseDir: '/etc/broker', env: {} });

  it('are on by default, can be switched off, and take custom windows', () => {
    expect(build({})).toMatchObject({ rateLimits: DEFAULT_RATE_LIMITS, killSwitch: DEFAULT_KILL_SWITCH });
    const off = build({ rate_limits: 'off', kill_switch: 'off' });
    expect(off.rateLimits).toBeUndefined();
    expect(off.killSwitch).toBeUndefined();
    const custom = build({ rate_limits: { per_agent: { limit: 10, window: '30s' } }, kill_switch: { distinct_users: { max: 5, window: '10m' } } });
    expect(custom.rateLimits).toEqual({ perAgent: { limit: 10, windowMs: 30_000 }, perSource: DEFAULT_PER_SOURCE_LIMIT });
    expect(custom.killSwitch).toEqual({ distinctUsers: { max: 5, windowMs: 600_000 } });
  });

  it('per_source (before client authentication) is on by default, custom, or off', () => {
    expect(build({}).rateLimits?.perSource).toEqual({ limit: 6000, windowMs: 60_000 });
    expect(build({ rate_limits: { per_source: { limit: 100, window: '10s' } } }).rateLimits).toEqual({ perSource: { limit: 100, windowMs: 10_000 } });
    expect(build({ rate_limits: { per_source: 'off' } }).rateLimits).toEqual({});
    expect(() => build({ rate_limits: { per_source: { limit: 0, window: '10s' } } })).toThrow(/rate_limits\.per_source/u);
  });

  it('attribution.unauthenticated_interval and attribution.min_free: defaults, custom values, off, bounds', () => {
    expect(build({}).attribution).toMatchObject({ unauthenticatedIntervalMs: 10_000, minFreeBytes: 256 * 1024 * 1024 });
    const custom = build({ attribution: { unauthenticated_interval: '30s', min_free: '1GiB' } }).attribution;
    expect(custom).toMatchObject({ unauthenticatedIntervalMs: 30_000, minFreeBytes: 1024 ** 3 });
    expect(build({ attribution: { min_free: 'off' } }).attribution.minFreeBytes).toBeUndefined();
    expect(() => build({ attribution: { unauthenticated_interval: '100ms' } })).toThrow(/attribution\.unauthenticated_interval/u);
    expect(() => build({ attribution: { min_free: '1KiB' } })).toThrow(/attribution\.min_free/u);
  });

  it('take the revocation feed caps and the /revoke rate limit, absent by default (the built-in defaults apply)', () => {
    expect(build({})).not.toHaveProperty('revocationFeed');
    expect(build({})).not.toHaveProperty('revokeRateLimit');
    const custom = build({ revocation_feed: { max_subscribers: 500, max_subscribers_per_key: 8 }, revoke_rate_limit: { limit: 10, window: '1m' } });
    expect(custom.revocationFeed).toEqual({ maxSubscribers: 500, maxPerKey: 8 });
    expect(custom.revokeRateLimit).toEqual({ limit: 10, windowMs: 60_000 });
    expect(() => build({ revocation_feed: { max_subscribers: 0 } })).toThrow(/revocation_feed/u);
    expect(() => build({ revocation_feed: { per_key: 3 } })).toThrow(/revocation_feed/u);
  });

  it('names the field of a bad value', () => {
    expect(() => build({ kill_switch: { denial_ratio: { ratio: 1.5, min_requests: 10, window: '1m' } } })).toThrow(/kill_switch/u);
    expect(() => build({ rate_limits: { per_agent: { limit: 0, window: '1m' } } })).toThrow(/rate_limits/u);
  });
});

describe('attribution options', () => {
  const base = { mode: 'production', issuer: 'https://broker.example.com', trusted_issuers: [{ issuer: 'https://login.example.com', audiences: ['https://broker.example.com'] }] };
  const build = (extra: Record<string, unknown>) => buildBrokerConfig({ ...base, ...extra }, { source: 'broker.yaml', baseDir: '/etc/broker', env: {} });

  it('accepts a Redis sink with a replica name and user pseudonymisation with a key file', () => {
    const config = build({ redis: { url: 'redis://redis:6379' }, attribution: { sink: 'redis', replica: 'broker-1', redact_users: 'hash', redaction_key_file: 'secrets/audit.key' } });
    expect(config.attribution).toMatchObject({ sink: 'redis', replica: 'broker-1', redactUsers: 'hash', redactionKeyFile: '/etc/broker/secrets/audit.key' });
  });

  it('names the field when a Redis sink has no Redis, or hashing has no key', () => {
    expect(() => build({ attribution: { sink: 'redis' } })).toThrow(/attribution\.sink: redis needs a `redis` connection/u);
    expect(() => build({ attribution: { redact_users: 'hash' } })).toThrow(/attribution\.redaction_key_file: is required/u);
  });

  it('rotates the file at 256 MiB by default; rotate takes sizes with units and ages, or off', () => {
    expect(DEFAULT_ATTRIBUTION_ROTATION).toEqual({ maxBytes: 268_435_456 });
    expect(build({}).attribution.rotate).toEqual({ maxBytes: 268_435_456 });
    expect(build({ attribution: { rotate: 'off' } }).attribution.rotate).toBeUndefined();
    expect(build({ attribution: { rotate: { max_bytes: '64MiB' } } }).attribution.rotate).toEqual({ maxBytes: 67_108_864 });
    expect(build({ attribution: { rotate: { max_bytes: '500MB', max_age: '24h' } } }).attribution.rotate).toEqual({ maxBytes: 500_000_000, maxAgeSeconds: 86_400 });
    expect(build({ attribution: { rotate: { max_age: 3600 } } }).attribution.rotate).toEqual({ maxAgeSeconds: 3600 });
    expect(build({ attribution: { rotate: { max_bytes: 1_048_576 } } }).attribution.rotate).toEqual({ maxBytes: 1_048_576 });
  });

  it('names the rotate field that is wrong, and why', () => {
    expect(problemsOf(() => build({ attribution: { rotate: { max_bytes: '12 parsecs' } } }))).toEqual([
      'broker.yaml: attribution.rotate.max_bytes: must be a whole number of bytes or a size like "64MiB", "500MB" or "1GiB"',
    ]);
    expect(problemsOf(() => build({ attribution: { rotate: { max_bytes: 1000 } } }))).toEqual([
      'broker.yaml: attribution.rotate.max_bytes: must be at least 65536 bytes (got 1000)',
    ]);
    expect(problemsOf(() => build({ attribution: { rotate: { max_age: 'daily' } } }))).toEqual([
      'broker.yaml: attribution.rotate.max_age: must be a whole number of seconds or a duration like "90s", "5m" or "1h"',
    ]);
    expect(problemsOf(() => build({ attribution: { rotate: { max_byte: '1GiB' } } }))).toEqual([
      'broker.yaml: attribution.rotate.max_byte: unknown key (did you mean "max_bytes"?)',
    ]);
    expect(problemsOf(() => build({ attribution: { rotate: {} } }))).toEqual([
      'broker.yaml: attribution.rotate: needs max_bytes and/or max_age (or write `rotate: off`)',
    ]);
    expect(problemsOf(() => build({ attribution: { rotate: 'weekly' } }))).toEqual([
      'broker.yaml: attribution.rotate: must be off, or a mapping with max_bytes and/or max_age (got a string)',
    ]);
  });

  it('takes a group-commit batching window in ms, 1ms to 100ms, none by default', () => {
    expect(build({}).attribution.batchWindowMs).toBeUndefined();
    expect(build({ attribution: { batch_window: '2ms' } }).attribution.batchWindowMs).toBe(2);
    expect(problemsOf(() => build({ attribution: { batch_window: '500ms' } }))).toEqual([
      'broker.yaml: attribution.batch_window: must be at most 100ms (got 500ms)',
    ]);
  });
});
