/**
 * Production refuses development material whatever the files say: an agent whose secret_hash verifies the
 * public demo secret (before: a copy of the demo agent without dev_only minted in production), and the
 * embedded development default never attaches to a Redis named by REDIS_URL.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { loadEverything } from '../../src/config/load-all.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import { productionDir } from '../support/production-broker.js';
import { REPO_ROOT } from './helpers.js';

async function problems(promise: Promise<unknown>): Promise<string[]> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).problems.map((p) => `${p.file}: ${p.path}: ${p.message}`);
}

const REFUSED = 'authentication.secret_hash: verifies the public development secret (demo-agent-secret) and is refused in production: give this agent its own secret (`broker hash-secret`)';

describe('the demo secret in production', () => {
  it('refuses a copy of the demo agent without dev_only', async () => {
    const d = await productionDir({ idpIssuer: 'https://login.example.com' });
    const sample = await readFile(join(REPO_ROOT, 'clients', 'demo-agent.yaml'), 'utf8');
    await writeFile(join(d.dir, 'clients', 'copy.yaml'), sample.replace(/^dev_only: true$/mu, '').replace('client_id: demo-agent', 'client_id: copied-agent')
      .replace(/\n {2}(crm|tickets|payroll|accounts|connected-accounts|payments): .*$/gmu, '').replace('tools:', 'tools:\n  crm: [crm.accounts.read]')
      // Issue 18: the sample's budgets name its tools; the copy keeps only crm.
      .replace(/\nbudgets:\n(?: {2}.*\n)*/u, '\n'));
    expect(await problems(loadEverything({ file: d.config, env: {}, cwd: d.dir }))).toEqual([`clients/copy.yaml: ${REFUSED}`]);
  });

  it('refuses the demo secret hashed again with a new salt, and accepts it in development', async () => {
    const d = await productionDir({ idpIssuer: 'https://login.example.com', secretHash: await hashClientSecret('demo-agent-secret') });
    expect(await problems(loadEverything({ file: d.config, env: {}, cwd: d.dir }))).toEqual([`clients/prod-agent.yaml: ${REFUSED}`]);
    const yaml = await readFile(d.config, 'utf8');
    await writeFile(d.config, yaml.replace('mode: production', 'mode: development').replace(/^issuer: .*$/mu, ''));
    const dev = await loadEverything({ file: d.config, env: {}, cwd: d.dir });
    expect([...dev.agents.agents.keys()]).toEqual(['prod-agent']);
  });

  it('accepts an agent with its own secret', async () => {
    const d = await productionDir({ idpIssuer: 'https://login.example.com' });
    const loaded = await loadEverything({ file: d.config, env: {}, cwd: d.dir });
    expect([...loaded.agents.agents.keys()]).toEqual(['prod-agent']);
  });
});

describe('the embedded development default', () => {
  it('never attaches to REDIS_URL (keeps its state in memory)', async () => {
    const loaded = await loadEverything({ env: { REDIS_URL: 'redis://prod-redis.internal:6379' }, cwd: REPO_ROOT });
    expect(loaded.config.mode).toBe('development');
    expect(loaded.config.redis).toBeUndefined();
  });

  it('a configuration file still takes REDIS_URL', async () => {
    const d = await productionDir({ idpIssuer: 'https://login.example.com' });
    const loaded = await loadEverything({ file: d.config, env: { REDIS_URL: 'redis://127.0.0.1:6379' }, cwd: d.dir });
    expect(loaded.config.redis).toMatchObject({ url: 'redis://127.0.0.1:6379' });
  });
});

describe('the embedded development default with an empty BROKER_CONFIG', () => {
  it('is still the embedded default and still ignores REDIS_URL', async () => {
    const loaded = await loadEverything({ env: { BROKER_CONFIG: '', REDIS_URL: 'redis://prod-redis.internal:6379' }, cwd: REPO_ROOT });
    expect(loaded.config.redis).toBeUndefined();
  });
});
