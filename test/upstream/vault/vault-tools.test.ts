/** Which catalog tools the vault serves, with the broker's client credentials at each SaaS (never inline). */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../../../src/config/load-catalog.js';
import { VaultToolError, vaultToolsOf } from '../../../src/upstream/vault/vault-tools.js';

const scopes = { 'a.read': { description: 'r', risk: 'low', justified_by: ['x'] }, 'a.write': { description: 'w', risk: 'medium', justified_by: ['x'] } };
const client = { client_id: 'broker-at-saas', auth: 'client_secret_basic', secret_env: 'VAULT_TOOL_TEST_SECRET' };
const upstream = (connector: string, over: Record<string, unknown> = {}) => ({
  resource: 'https://saas.example/api', authorization_server: { issuer: 'https://saas.example' }, client,
  scopes: { 'a.read': ['read'], 'a.write': ['write', 'read'] }, connector, ...over,
});
const catalogWith = (...entries: [string, Record<string, unknown> | undefined][]) => buildCatalog(entries.map(([id, up]) => ({
  source: `${id}.yaml`, data: { id, description: id, resource: `https://${id}.example/mcp`, max_ttl: 60, scopes, ...(up ? { upstream: up } : {}) },
})));

describe('vaultToolsOf', () => {
  it('serves only `connector: vault` tools, asking consent for every SaaS scope their catalog scopes map to', async () => {
    const catalog = catalogWith(['v', upstream('vault')], ['j', upstream('jwt_bearer')], ['plain', undefined]);
    const tools = await vaultToolsOf(catalog, '/nonexistent', { VAULT_TOOL_TEST_SECRET: 's3cret' }, 1500);
    expect(tools).toEqual([{ tool: 'v', issuer: 'https://saas.example', clientId: 'broker-at-saas', clientAuth: { method: 'client_secret_basic', secret: 's3cret' }, scopes: ['read', 'write'], timeoutMs: 1500 }]);
  });

  it('none without vault tools (the broker then runs no vault)', async () => {
    expect(await vaultToolsOf(catalogWith(['j', upstream('token_exchange')]), '/nonexistent', {})).toEqual([]);
  });

  it('refuses a vault tool whose client secret variable is not set, naming the tool and the variable', async () => {
    const run = vaultToolsOf(catalogWith(['v', upstream('vault')]), '/nonexistent', {});
    await expect(run).rejects.toThrow(VaultToolError);
    await expect(run).rejects.toThrow(/tool "v": environment variable VAULT_TOOL_TEST_SECRET/u);
  });

  it('reads a private_key_jwt client key from the keys directory and refuses a public key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vault-tools-'));
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    await writeFile(join(dir, 'saas.jwk.json'), JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'k1', alg: 'ES256' }));
    await writeFile(join(dir, 'public.jwk.json'), JSON.stringify(await exportJWK(publicKey)));
    const keyed = (file: string) => upstream('vault', { client: { client_id: 'broker-at-saas', auth: 'private_key_jwt', key_file: file } });
    const [tool] = await vaultToolsOf(catalogWith(['v', keyed('saas.jwk.json')]), dir, {});
    expect(tool?.clientAuth).toMatchObject({ method: 'private_key_jwt', kid: 'k1' });
    await expect(vaultToolsOf(catalogWith(['v', keyed('public.jwk.json')]), dir, {})).rejects.toThrow(/not a private key/u);
  });

  it('refuses a vault upstream named by a token endpoint only: the consent flow needs discovery', async () => {
    const byEndpoint = upstream('vault', { authorization_server: { token_endpoint: 'https://saas.example/token' } });
    await expect(vaultToolsOf(catalogWith(['v', byEndpoint]), '/nonexistent', { VAULT_TOOL_TEST_SECRET: 's' })).rejects.toThrow(/named by its issuer/u);
  });
});
