/**
 * `admin_keys` and `validator_keys` (issue 14 items 3 and 7, issue 15 item 5): keyed hashes only (the old scrypt
 * form is refused naming the fix), roles, resources canonicalised and checked against the catalog, public keys
 * for private_key_jwt, unique ids.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair } from 'jose';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { buildBrokerConfig } from '../../src/config/load-broker-config.js';
import { loadEverything } from '../../src/config/load-all.js';
import { agentFile, asyncProblemsOf, crmTool, problemsOf, removeTempDirs, tempDir, writeFiles } from './helpers.js';

afterEach(removeTempDirs);

const build = (extra: Record<string, unknown>) => buildBrokerConfig({
  mode: 'production', issuer: 'https://broker.example.com', host: '0.0.0.0',
  trusted_issuers: [{ issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://broker'] }], ...extra,
}, { source: 'broker.yaml', baseDir: '/etc/broker', env: {}, cwd: '/srv' });

const SCRYPT = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';

describe('admin_keys', () => {
  it('takes keyed hashes and roles; a key without a role is an operator', async () => {
    const { hash } = await createAdminKey('a');
    const config = build({ admin_keys: [{ id: 'a', hash }, { id: 'b', hash, role: 'viewer' }] });
    expect(config.adminKeys).toEqual([{ id: 'a', hash }, { id: 'b', hash, role: 'viewer' }]);
  });

  it('refuses the scrypt form of earlier versions, naming the fix, and unknown roles', () => {
    expect(problemsOf(() => build({ admin_keys: [{ id: 'a', hash: SCRYPT, role: 'root' }] }))).toEqual([
      'broker.yaml: admin_keys[0].hash: is an scrypt hash from an earlier version; keys are now checked with a keyed hash: print the new form of the same key with `broker admin-key --rehash` (key on standard input), or create a new key with `broker admin-key --id <id>`',
      'broker.yaml: admin_keys[0].role: must be one of viewer, operator',
    ]);
    expect(problemsOf(() => build({ validator_keys: [{ id: 'v', hash: 'the-key-itself' }] }))).toEqual([
      'broker.yaml: validator_keys[0].hash: must be a hash from `broker admin-key` (hmac-sha256$…), never the key itself',
    ]);
  });

  it('refuses an id used twice, across admin_keys and validator_keys', async () => {
    const { hash } = await createAdminKey('a');
    expect(problemsOf(() => build({ admin_keys: [{ id: 'a', hash }], validator_keys: [{ id: 'a', hash }] }))).toEqual([
      'broker.yaml: validator_keys[0].id: repeats the key id "a" (ids are unique across admin_keys and validator_keys)',
    ]);
  });
});

describe('validator_keys', () => {
  it('canonicalises resources and keeps public jwks (private_key_jwt)', async () => {
    const { hash } = await createAdminKey('v');
    const jwk = { ...(await exportJWK((await generateKeyPair('ES256')).publicKey)), kid: 'gw-1', alg: 'ES256' };
    const config = build({ validator_keys: [{ id: 'v', hash, resources: ['HTTPS://CRM.example.internal:443/api/'] }, { id: 'gw', jwks: { keys: [jwk] } }] });
    expect(config.validatorKeys).toEqual([
      { id: 'v', hash, resources: ['https://crm.example.internal/api'] },
      { id: 'gw', jwks: { keys: [{ kty: 'EC', kid: 'gw-1', alg: 'ES256', crv: 'P-256', x: jwk.x, y: jwk.y }] } },
    ]);
  });

  it('refuses an entry with neither hash nor jwks, private key material, and resources that are not identifiers', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = { ...(await exportJWK(pair.privateKey)), kid: 'k' };
    const problems = problemsOf(() => build({ validator_keys: [{ id: 'v' }, { id: 'w', jwks: { keys: [privateJwk] } }, { id: 'x', jwks: { keys: [{ ...privateJwk, d: undefined }] }, resources: ['crm#frag'] }] }));
    expect(problems).toContain('broker.yaml: validator_keys[0]: needs a hash (from `broker admin-key`) or jwks (public keys for private_key_jwt)');
    expect(problems.some((p) => p.startsWith('broker.yaml: validator_keys[1].jwks.keys[0].d: is private key material'))).toBe(true);
    expect(problems).toContain('broker.yaml: validator_keys[2].resources[0]: must be an absolute resource identifier without a fragment');
  });

  it('refuses, at load, resources that name no tool in the catalog', async () => {
    const dir = await tempDir();
    const { hash } = await createAdminKey('v');
    await writeFiles(dir, {
      'broker.yaml': { mode: 'development', issuer: 'http://localhost:9400', dev_identity_provider: { port: 9401 }, validator_keys: [{ id: 'v', hash, resources: ['https://crm.example.internal/api', 'https://payroll.example.internal/api'] }] },
      'scopes/crm.yaml': crmTool(),
      'clients/a.yaml': agentFile(),
    });
    expect(await asyncProblemsOf(loadEverything({ file: 'broker.yaml', env: {}, cwd: dir }))).toEqual([
      'broker.yaml: validator_keys[0].resources[1]: names no tool in the catalog: https://payroll.example.internal/api',
    ]);
  });
});
