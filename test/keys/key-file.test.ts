import { describe, expect, it } from 'vitest';
import { parseKeyFile, serializeKeyFile, KEY_FILE_FORMAT } from '../../src/keys/key-file.js';
import { generateSigningKey } from '../../src/keys/signing-keys.js';

describe('key files', () => {
  it('round-trips a generated key', async () => {
    const key = await generateSigningKey({ nowMs: Date.parse('2026-12-03T12:00:00Z') });
    const parsed = parseKeyFile(serializeKeyFile(key));
    expect(parsed).toEqual({ ok: true, key: { ...key, legacy: false } });
    expect(JSON.parse(serializeKeyFile(key))).toMatchObject({ format: KEY_FILE_FORMAT, kid: key.kid, alg: 'ES256', status: 'active', created: '2026-12-03T12:00:00.000Z' });
  });

  it('marks development keys and reads the pre-v1 format as a development key', async () => {
    const dev = await generateSigningKey({ dev: true });
    expect(parseKeyFile(serializeKeyFile(dev))).toMatchObject({ ok: true, key: { dev: true, legacy: false } });
    expect(parseKeyFile(JSON.stringify({ jwk: dev.jwk, createdAt: 1 }))).toMatchObject({ ok: true, key: { kid: dev.kid, dev: true, legacy: true, status: 'active' } });
  });

  it('names every problem instead of throwing (the TypeError of a missing jwk)', async () => {
    const good = JSON.parse(serializeKeyFile(await generateSigningKey())) as Record<string, unknown>;
    const problems = (doc: unknown) => {
      const parsed = parseKeyFile(typeof doc === 'string' ? doc : JSON.stringify(doc));
      return parsed.ok ? [] : parsed.problems;
    };
    expect(problems('{not json')[0]).toMatch(/^not JSON/u);
    expect(problems([])).toEqual(['must be a JSON object']);
    expect(problems({ ...good, jwk: undefined })).toContain('jwk: must be a JSON object (the private JWK)');
    const { d: _d, ...publicOnly } = good.jwk as Record<string, unknown>;
    expect(problems({ ...good, jwk: publicOnly })).toContain('jwk.d: missing: a signing key file must hold the private key');
    expect(problems({ ...good, jwk: { ...(good.jwk as object), crv: 'P-384' } })[0]).toMatch(/^jwk: must be an EC P-256 key/u);
    expect(problems({ ...good, status: 'pending' })).toContain('status: must be one of next, active, retired');
    expect(problems({ ...good, status: 'next' })).toContain('activate_at: is required for a next key (when it starts signing)');
    expect(problems({ ...good, status: 'retired' })).toContain('retired_at: is required for a retired key (when it stopped signing)');
    expect(problems({ ...good, created: 'yesterday' })).toContain('created: must be an ISO 8601 time, e.g. "2026-12-03T12:00:00Z"');
    expect(problems({ ...good, kid: 'other' })).toContain('jwk.kid: must equal kid');
    expect(problems({ ...good, alg: 'HS256' })).toContain('alg: must be "ES256"');
    expect(problems({ ...good, format: 'v0' })).toContain(`format: must be "${KEY_FILE_FORMAT}"`);
  });
});
