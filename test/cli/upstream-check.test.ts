/**
 * `broker check` of the catalog's upstream credentials (issue 17): the client key file in keys/ exists, parses,
 * is a private key of an allowed algorithm; a client secret's environment variable is set; the vault key is
 * valid when a vault tool exists. Each problem names the file and the field, never a key's value.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/cli/check-command.js';
import { upstreamCredentialProblems } from '../../src/cli/upstream-check.js';
import { formatProblem } from '../../src/config/config-error.js';
import { buildCatalog } from '../../src/config/load-catalog.js';
import { VAULT_KEYS_FORMAT } from '../../src/upstream/vault/vault-keys.js';
import { agentFile, removeTempDirs, tempDir, writeFiles } from '../config/helpers.js';

afterEach(removeTempDirs);

type Auth = { auth: 'private_key_jwt'; key_file: string } | { auth: 'client_secret_basic'; secret_env: string };

function toolData(id: string, client: Auth, opts: { issuer?: string; connector?: string } = {}) {
  return {
    id, description: id, resource: `https://${id}.example/api`, max_ttl: 300,
    scopes: { [`${id}.read`]: { description: 'r', risk: 'low', justified_by: ['x.read'] } },
    upstream: {
      resource: `https://${id}-saas.example/api`, authorization_server: { issuer: opts.issuer ?? `https://${id}-saas.example` },
      client: { client_id: 'broker', ...client }, scopes: { [`${id}.read`]: ['read'] }, connector: opts.connector ?? 'jwt_bearer',
    },
  };
}

async function problems(keysDir: string, tools: ReturnType<typeof toolData>[], opts: { mode?: 'development' | 'production'; env?: Record<string, string> } = {}): Promise<string[]> {
  const catalog = buildCatalog(tools.map((data) => ({ source: `scopes/${data.id}.yaml`, data })));
  const found = await upstreamCredentialProblems({ config: { mode: opts.mode ?? 'production', keysDir }, catalog, env: opts.env ?? {}, cwd: path.dirname(keysDir) });
  return found.map(formatProblem);
}

async function privateJwk(alg: 'ES256' | 'RS256' | 'EdDSA'): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), alg, kid: 'k1' };
}

async function keysDirWith(files: Record<string, string>): Promise<string> {
  const dir = path.join(await tempDir(), 'keys');
  await mkdir(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text, { mode: 0o600 });
  return dir;
}

const pkj = (file: string): Auth => ({ auth: 'private_key_jwt', key_file: file });

describe('upstream client key files', () => {
  it('accepts a private key of an allowed algorithm', async () => {
    const dir = await keysDirWith({ 'es.jwk.json': JSON.stringify(await privateJwk('ES256')), 'rs.jwk.json': JSON.stringify(await privateJwk('RS256')), 'ed.jwk.json': JSON.stringify(await privateJwk('EdDSA')) });
    expect(await problems(dir, [toolData('a', pkj('es.jwk.json')), toolData('b', pkj('rs.jwk.json')), toolData('c', pkj('ed.jwk.json'))])).toEqual([]);
  });

  it('reports a missing, unparsable, public, HMAC or mismatched key by file and field', async () => {
    const es = await privateJwk('ES256');
    const { d: _d, ...pub } = es;
    const dir = await keysDirWith({
      'text.jwk.json': 'not json',
      'public.jwk.json': JSON.stringify(pub),
      'hmac.jwk.json': JSON.stringify({ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA', d: 'x', alg: 'HS256' }),
      'mismatch.jwk.json': JSON.stringify({ ...es, alg: 'RS256' }),
    });
    expect(await problems(dir, [
      toolData('a', pkj('missing.jwk.json')), toolData('b', pkj('text.jwk.json')), toolData('c', pkj('public.jwk.json')),
      toolData('d', pkj('hmac.jwk.json')), toolData('e', pkj('mismatch.jwk.json')),
    ])).toEqual([
      'scopes/a.yaml: upstream.client.key_file: keys/missing.jwk.json does not exist: put the broker\'s private JWK for broker there (mode 0600)',
      'scopes/b.yaml: upstream.client.key_file: keys/text.jwk.json is not JSON (a private JWK is expected)',
      'scopes/c.yaml: upstream.client.key_file: keys/public.jwk.json is not a private key (a public JWK has no "d"): the broker signs its client assertions with it',
      'scopes/d.yaml: upstream.client.key_file: keys/hmac.jwk.json alg "HS256" is a shared-secret (HMAC) algorithm and is never accepted; use an asymmetric algorithm such as ES256 or RS256',
      'scopes/e.yaml: upstream.client.key_file: keys/mismatch.jwk.json cannot be used with alg RS256 (the key does not match the algorithm)',
    ]);
  });

  it('development tolerates a missing key only for an upstream on loopback (the sample SaaS generates it)', async () => {
    const dir = await keysDirWith({});
    expect(await problems(dir, [toolData('a', pkj('dev.jwk.json'), { issuer: 'http://localhost:9403' }), toolData('b', pkj('remote.jwk.json'))], { mode: 'development' })).toEqual([
      'scopes/b.yaml: upstream.client.key_file: keys/remote.jwk.json does not exist: put the broker\'s private JWK for broker there (mode 0600)',
    ]);
    expect(await problems(dir, [toolData('a', pkj('dev.jwk.json'), { issuer: 'http://localhost:9403' })], { mode: 'production' })).toHaveLength(1);
  });
});

describe('upstream client secrets', () => {
  it('the named environment variable must be set (its value never appears)', async () => {
    const dir = await keysDirWith({});
    const tool = toolData('a', { auth: 'client_secret_basic', secret_env: 'A_SAAS_SECRET' });
    expect(await problems(dir, [tool])).toEqual(['scopes/a.yaml: upstream.client.secret_env: names A_SAAS_SECRET, which is not set']);
    expect(await problems(dir, [tool], { env: { A_SAAS_SECRET: '' } })).toHaveLength(1);
    expect(await problems(dir, [tool], { env: { A_SAAS_SECRET: 'value-of-the-secret' } })).toEqual([]);
  });
});

describe('the vault key, when a vault tool exists', () => {
  const vaultTool = () => toolData('v', { auth: 'client_secret_basic', secret_env: 'V_SECRET' }, { connector: 'vault' });
  const env = { V_SECRET: 's' };
  const ring = JSON.stringify({ format: VAULT_KEYS_FORMAT, active: 'k1', keys: [{ kid: 'k1', key: Buffer.alloc(32, 7).toString('base64url'), created: '2026-01-01T00:00:00Z' }] });

  it('production needs one; development generates it at start', async () => {
    const dir = await keysDirWith({});
    expect(await problems(dir, [vaultTool()], { env })).toEqual([
      'keys/vault-keys.json: no vault key for the catalog\'s vault tools: set BROKER_VAULT_KEYS or create it with `broker vault-key add --activate`',
    ]);
    expect(await problems(dir, [vaultTool()], { env, mode: 'development' })).toEqual([]);
    // No vault tool, no vault key needed.
    expect(await problems(dir, [toolData('a', { auth: 'client_secret_basic', secret_env: 'V_SECRET' })], { env })).toEqual([]);
  });

  it('a valid file or variable passes; a broken one is reported where it is', async () => {
    expect(await problems(await keysDirWith({ 'vault-keys.json': ring }), [vaultTool()], { env })).toEqual([]);
    expect(await problems(await keysDirWith({}), [vaultTool()], { env: { ...env, BROKER_VAULT_KEYS: ring } })).toEqual([]);
    expect(await problems(await keysDirWith({ 'vault-keys.json': '{"format":"nope"}' }), [vaultTool()], { env, mode: 'development' })).toEqual([
      'keys/vault-keys.json: format must be "agent-token-broker/vault-keys/v1"',
      'keys/vault-keys.json: keys must be a non-empty list',
    ]);
    expect(await problems(await keysDirWith({}), [vaultTool()], { env: { ...env, BROKER_VAULT_KEYS: 'not json' } })).toEqual(['environment: BROKER_VAULT_KEYS: not JSON']);
  });
});

describe('broker check', () => {
  it('prints the upstream problems by file and field and fails', async () => {
    const dir = await tempDir();
    await writeFiles(dir, {
      'scopes/a.yaml': toolData('a', { auth: 'client_secret_basic', secret_env: 'A_SAAS_SECRET' }),
      'clients/agent.yaml': agentFile({ client_id: 'agent', tools: { a: ['a.read'] } }),
    });
    await chmod(dir, 0o700);
    const lines: string[] = [];
    const code = await runCheck({ catalog: 'scopes', clients: 'clients', cwd: dir, env: {}, out: (line) => lines.push(line) });
    expect({ code, lines }).toEqual({ code: 1, lines: ['scopes/a.yaml: upstream.client.secret_env: names A_SAAS_SECRET, which is not set', 'check failed: 1 problem'] });
    lines.length = 0;
    expect(await runCheck({ catalog: 'scopes', clients: 'clients', cwd: dir, env: { A_SAAS_SECRET: 'x' }, out: (line) => lines.push(line) })).toBe(0);
  });
});
