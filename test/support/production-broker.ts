/**
 * A production-mode broker started in this process the way `npm start` starts one (loadEverything with the
 * key check, then startBroker), from a temp directory holding broker.yaml, one tool, one agent and keys
 * made with `broker keys generate`.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEverything } from '../../src/config/load-all.js';
import { runKeysGenerate } from '../../src/keys/key-commands.js';
import { createLogger } from '../../src/log.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/server/start-broker.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from './token-request.js';

export const AGENT = 'prod-agent';
export const AGENT_SECRET = 'prod-agent-secret-0123456789';
export const CRM = 'https://crm.example.internal/api';

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => { resolve(port); });
    });
  });
}

export interface ProductionDir {
  readonly dir: string;
  readonly issuer: string;
  readonly config: string;
}

/** Writes broker.yaml (+ `extraYaml` lines), scopes/crm.yaml, clients/prod-agent.yaml; keys only with `keys: true`. */
export async function productionDir(opts: { idpIssuer: string; port?: number; toolTtl?: string; extraYaml?: readonly string[]; keys?: boolean; secretHash?: string }): Promise<ProductionDir> {
  const dir = await mkdtemp(join(tmpdir(), 'broker-prod-'));
  const port = opts.port ?? await freePort();
  const issuer = `http://127.0.0.1:${String(port)}`;
  await mkdir(join(dir, 'scopes'));
  await mkdir(join(dir, 'clients'));
  await writeFile(join(dir, 'scopes', 'crm.yaml'), [
    'id: crm', 'description: CRM', `resource: ${CRM}`, `max_ttl: ${opts.toolTtl ?? '5m'}`, 'scopes:',
    '  crm.accounts.read: { description: Read, risk: low, justified_by: [crm.read, crm.write] }', '',
  ].join('\n'));
  await writeFile(join(dir, 'clients', `${AGENT}.yaml`), [
    `client_id: ${AGENT}`, 'name: Production agent', 'owner: sec@example.com', 'status: active',
    'authentication:', '  method: client_secret_basic', `  secret_hash: "${opts.secretHash ?? await hashClientSecret(AGENT_SECRET)}"`,
    'tools:', '  crm: [crm.accounts.read]', 'max_ttl: 10m', '',
  ].join('\n'));
  const config = join(dir, 'broker.yaml');
  await writeFile(config, [
    'mode: production', `issuer: ${issuer}`, 'host: 127.0.0.1', `port: ${String(port)}`,
    'attribution: { file: ./data/attribution.jsonl }',
    'trusted_issuers:', `  - { issuer: "${opts.idpIssuer}", audiences: ["${issuer}"], algorithms: [ES256] }`,
    ...(opts.extraYaml ?? []), '',
  ].join('\n'));
  if (opts.keys !== false) {
    const code = await runKeysGenerate({ keysDir: join(dir, 'keys'), out: () => undefined });
    if (code !== 0) throw new Error('keys generate failed');
  }
  return { dir, issuer, config };
}

export async function startProduction(d: ProductionDir, options: StartOptions = {}, env: Record<string, string | undefined> = {}): Promise<RunningBroker & { readonly url: string }> {
  const loaded = await loadEverything({ file: d.config, env: { NODE_ENV: 'production', ...env }, cwd: d.dir, keys: true });
  const running = await startBroker(loaded, createLogger('silent'), undefined, options);
  return Object.assign(running, { url: d.issuer });
}

export function exchange(url: string, userToken: string, secret = AGENT_SECRET): Promise<RawResponse> {
  return rawPost(`${url}/token`, form({
    grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read',
  }), { authorization: basic(AGENT, secret) });
}
