/** The stages of loading broker.yaml on their own: the section registry, the environment overlay, the safety rules. */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ENVIRONMENT_OVERLAY, overlayEnvironment } from '../../src/config/env-overlay.js';
import { SAFETY_RULES, checkSafetyRules } from '../../src/config/safety-rules.js';
import { BROKER_FILE_SHAPE, SECTIONS } from '../../src/config/sections/index.js';
import { resolveSettings } from '../../src/config/settings.js';
import { parseFields, Problems } from '../../src/config/validate.js';

const SOURCE = 'broker.yaml';

function settingsOf(raw: Record<string, unknown>, env: Record<string, string> = {}) {
  const problems = new Problems();
  const fields = parseFields(BROKER_FILE_SHAPE, raw, SOURCE, [], problems) ?? {};
  const overlaid = overlayEnvironment(fields, env, { source: SOURCE, cwd: '/srv', problems });
  return { settings: resolveSettings(raw, overlaid, { source: SOURCE, baseDir: '/etc/broker', env }), problems };
}

describe('the section registry', () => {
  it('gives every top-level key to exactly one section, in registry order', () => {
    const keys = SECTIONS.flatMap((section) => Object.keys(section.shape));
    expect(new Set(keys).size).toBe(keys.length);
    expect(Object.keys(BROKER_FILE_SHAPE)).toEqual(keys);
    expect(keys.slice(0, 4)).toEqual(['mode', 'issuer', 'host', 'port']);
  });
});

describe('the environment overlay', () => {
  it('each row yields a value the schema of its field accepts', () => {
    const samples: Record<string, string> = {
      BROKER_ISSUER: 'https://broker.example.com', BROKER_HOST: '0.0.0.0', BROKER_PORT: '9443', BROKER_LOG_LEVEL: 'debug',
      BROKER_CATALOG_DIR: 'c', BROKER_CLIENTS_DIR: 'd', BROKER_KEYS_DIR: 'k', BROKER_ATTRIBUTION_FILE: 'a.jsonl', BROKER_DEV_IDP_PORT: '9401',
      BROKER_METRICS_PORT: '9464', BROKER_METRICS_HOST: '0.0.0.0', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
    };
    for (const row of ENVIRONMENT_OVERLAY) {
      const text = samples[row.name];
      expect(text, row.name).toBeDefined();
      const parsed = row.parse(text ?? '', { cwd: '/srv' });
      expect(typeof parsed, row.name).toBe('object');
      if (typeof parsed === 'string') continue;
      // Rebuild the nested field and validate it with the section schema of its top-level key.
      const [top, ...rest] = row.path;
      const value = rest.reduceRight<unknown>((inner, key) => ({ [key]: inner }), parsed.value);
      const schema = (BROKER_FILE_SHAPE as Record<string, z.ZodType>)[top];
      expect(schema?.safeParse(value).success, row.name).toBe(true);
    }
  });

  it('replaces fields, names the variable as the origin, leaves the file value when the text is bad', () => {
    const problems = new Problems();
    const fields = { port: 8443, host: 'h', attribution: { sink: 'file' as const } };
    const out = overlayEnvironment(fields, { BROKER_PORT: '9443', BROKER_HOST: '   ', BROKER_ATTRIBUTION_FILE: 'x.jsonl', BROKER_ISSUER: '' }, { source: SOURCE, cwd: '/srv', problems });
    expect(out.fields).toEqual({ port: 9443, host: 'h', attribution: { sink: 'file', file: '/srv/x.jsonl' } });
    expect(fields.port).toBe(8443);
    expect(out.origin('port')).toEqual({ file: 'environment', path: 'BROKER_PORT' });
    expect(out.origin('host')).toEqual({ file: SOURCE, path: 'host' });
    expect(out.origin('attribution.file')).toEqual({ file: 'environment', path: 'BROKER_ATTRIBUTION_FILE' });
    expect(problems.list).toEqual([{ file: 'environment', path: 'BROKER_HOST', message: 'must not be blank (got "   ")' }]);
  });
});

describe('the safety rules', () => {
  it('are named, and a clean production configuration breaks none', () => {
    expect(new Set(SAFETY_RULES.map((r) => r.name)).size).toBe(SAFETY_RULES.length);
    const { settings } = settingsOf({ mode: 'production', issuer: 'https://broker.example.com', host: '0.0.0.0', trusted_issuers: [{ issuer: 'https://idp.example.com', audiences: ['b'] }] });
    expect(checkSafetyRules(settings)).toEqual([]);
  });

  it('run over resolved values and name where each came from', () => {
    const { settings } = settingsOf({ mode: 'development', dev_identity_provider: { port: 9401 } }, { BROKER_HOST: '10.0.0.5', NODE_ENV: 'production' });
    expect(checkSafetyRules(settings)).toEqual([
      { file: SOURCE, path: 'mode', message: 'development mode is refused under NODE_ENV=production' },
      { file: 'environment', path: 'BROKER_HOST', message: expect.stringContaining('development mode must bind to a loopback address') as unknown },
    ]);
  });

  it('each rule can be checked alone', () => {
    const rule = SAFETY_RULES.find((r) => r.name === 'caller key ids are unique');
    const { settings } = settingsOf({ mode: 'production' });
    expect(rule?.check({ ...settings, fields: { ...settings.fields, admin_keys: [{ id: 'a', hash: 'h' }], validator_keys: [{ id: 'a' }] } })).toEqual([
      { file: SOURCE, path: 'validator_keys[0].id', message: 'repeats the key id "a" (ids are unique across admin_keys and validator_keys)' },
    ]);
  });
});
