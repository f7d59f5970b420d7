/** broker.yaml's `metrics`, `tracing` and `reload` keys (issue 19), from the file and from the environment. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { buildBrokerConfig } from '../../src/config/load-broker-config.js';

const BASE = { mode: 'development', issuer: 'http://127.0.0.1:9400', dev_identity_provider: { port: 9401 } };
const build = (raw: Record<string, unknown>, env: Record<string, string> = {}) => buildBrokerConfig({ ...BASE, ...raw }, { source: 'broker.yaml', baseDir: '/etc/broker', cwd: '/srv', env });

describe('observability settings', () => {
  it('are absent by default: no separate listener, tracing off, no file watch', () => {
    const config = build({});
    expect(config.metricsListener).toBeUndefined();
    expect(config.tracing).toBeUndefined();
    expect(config.reloadWatch).toBeUndefined();
  });

  it('read the separate metrics listener, the OTLP endpoint and the watch from the file', () => {
    const config = build({ metrics: { port: 9464 }, tracing: { otlp_endpoint: 'http://otel-collector:4318', service_name: 'broker-eu' }, reload: { watch: true } });
    expect(config.metricsListener).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(config.tracing).toEqual({ endpoint: 'http://otel-collector:4318', serviceName: 'broker-eu' });
    expect(config.reloadWatch).toBe(true);
  });

  it('take BROKER_METRICS_PORT / _HOST and OTEL_EXPORTER_OTLP_ENDPOINT from the environment', () => {
    const config = build({}, { BROKER_METRICS_PORT: '9464', BROKER_METRICS_HOST: '0.0.0.0', OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example.com' });
    expect(config.metricsListener).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(config.tracing).toEqual({ endpoint: 'https://collector.example.com' });
  });

  it('name each bad value', () => {
    const problems = (raw: Record<string, unknown>, env: Record<string, string> = {}) => {
      try {
        build(raw, env);
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => `${p.file}: ${p.path}`);
      }
      return [];
    };
    expect(problems({ metrics: { host: '0.0.0.0' } })).toEqual(['broker.yaml: metrics.port']);
    expect(problems({ tracing: { otlp_endpoint: 'ftp://x' } })).toEqual(['broker.yaml: tracing.otlp_endpoint']);
    expect(problems({ tracing: { otlp_endpoint: 'https://user:pw@collector.example.com' } })).toEqual(['broker.yaml: tracing.otlp_endpoint']);
    expect(problems({ reload: { watch: 'yes' } })).toEqual(['broker.yaml: reload.watch']);
    expect(problems({}, { BROKER_METRICS_PORT: 'ninety' })).toEqual(['environment: BROKER_METRICS_PORT']);
  });
});
