import { describe, expect, it } from 'vitest';
import { buildBrokerConfig } from '../../src/config/load-broker-config.js';
import { problemsOf } from './helpers.js';

const build = (extra: Record<string, unknown>) => buildBrokerConfig({
  mode: 'production', issuer: 'https://broker.example.com', host: '0.0.0.0',
  trusted_issuers: [{ issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://broker'] }],
  ...extra,
}, { source: 'broker.yaml', baseDir: '/etc/broker', env: {}, cwd: '/srv' });

describe('upstream_max_bytes and upstream_max_keys', () => {
  it('are absent by default (the built-in 256 KiB and 100 keys apply)', () => {
    const config = build({});
    expect(config.upstreamMaxBytes).toBeUndefined();
    expect(config.upstreamMaxKeys).toBeUndefined();
  });

  it('take a byte size with a unit and a key count', () => {
    expect(build({ upstream_max_bytes: '1MiB', upstream_max_keys: 20 })).toMatchObject({ upstreamMaxBytes: 1024 * 1024, upstreamMaxKeys: 20 });
    expect(build({ upstream_max_bytes: 4096 })).toMatchObject({ upstreamMaxBytes: 4096 });
  });

  it('refuse nonsense with the field named', () => {
    expect(problemsOf(() => build({ upstream_max_bytes: '10B', upstream_max_keys: 0 }))).toEqual([
      'broker.yaml: upstream_max_bytes: must be at least 1024 bytes (got 10)',
      'broker.yaml: upstream_max_keys: must be at least 1',
    ]);
  });
});
