/** The vault a running broker builds at start: none without vault tools, a feature with them, a clear refusal otherwise. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.js';
import { buildCatalog } from '../../../src/config/load-catalog.js';
import type { BrokerConfig } from '../../../src/domain/broker-config.js';
import { createLogger } from '../../../src/log.js';
import { MemoryState } from '../../../src/state/memory-state.js';
import { vaultFeatureFor } from '../../../src/upstream/vault/vault-for-broker.js';

const scopes = { 'a.read': { description: 'r', risk: 'low', justified_by: ['x'] } };
const catalog = (connector: string) => buildCatalog([{ source: 'v.yaml', data: {
  id: 'v', description: 'v', resource: 'https://v.example/mcp', max_ttl: 60, scopes,
  upstream: { resource: 'https://saas.example/api', authorization_server: { issuer: 'https://saas.example' }, client: { client_id: 'b', auth: 'client_secret_basic', secret_env: 'VAULT_START_SECRET' }, scopes: { 'a.read': ['read'] }, connector },
} }]);
const configIn = (keysDir: string, mode: 'development' | 'production') => ({ mode, issuer: 'https://broker.example', keysDir, catalogDir: '/etc/broker/scopes', upstreamTimeoutMs: 1000 }) as unknown as BrokerConfig;
const base = { state: new MemoryState(), log: createLogger('silent'), record: () => Promise.resolve(), signIn: () => undefined };

describe('vaultFeatureFor', () => {
  it('builds no vault when no tool uses it', async () => {
    const keysDir = await mkdtemp(join(tmpdir(), 'vault-start-'));
    expect(await vaultFeatureFor({ ...base, config: configIn(keysDir, 'production'), catalog: catalog('jwt_bearer'), env: {} })).toBeUndefined();
  });

  it('builds the vault for a vault tool (development generates its key) and serves its connector', async () => {
    const keysDir = await mkdtemp(join(tmpdir(), 'vault-start-'));
    const feature = await vaultFeatureFor({ ...base, config: configIn(keysDir, 'development'), catalog: catalog('vault'), env: { VAULT_START_SECRET: 's' } });
    expect(feature?.connector().kind).toBe('vault');
  });

  it('refuses to start in production without a vault key, saying what to do', async () => {
    const keysDir = await mkdtemp(join(tmpdir(), 'vault-start-'));
    const run = vaultFeatureFor({ ...base, config: configIn(keysDir, 'production'), catalog: catalog('vault'), env: { VAULT_START_SECRET: 's' } });
    await expect(run).rejects.toThrow(ConfigError);
    await expect(run).rejects.toThrow(/the vault cannot start: no vault key/u);
  });

  it('refuses to start when a vault tool\'s client secret is missing', async () => {
    const keysDir = await mkdtemp(join(tmpdir(), 'vault-start-'));
    await expect(vaultFeatureFor({ ...base, config: configIn(keysDir, 'development'), catalog: catalog('vault'), env: {} })).rejects.toThrow(/VAULT_START_SECRET/u);
  });
});
