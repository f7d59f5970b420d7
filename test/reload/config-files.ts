/** Scope catalog and agent files in a temp directory, as an operator edits them, for the reload tests. */
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrokerConfig } from '../../src/domain/broker-config.js';
import { loadConfigSet } from '../../src/reload/load-sets.js';
import { baseConfig, reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';

export const RELOAD_CRM = 'https://crm.example.test/api';

/** `writeJustifiedBy`: the user scopes that justify crm.accounts.write (narrow it by naming one nobody has). */
export function crmYaml(writeJustifiedBy: readonly string[] = ['crm.write'], extra = ''): string {
  return [
    'id: crm', 'description: CRM', `resource: ${RELOAD_CRM}`, 'max_ttl: 5m', 'scopes:',
    '  crm.accounts.read:', '    description: read', '    risk: low', '    justified_by: [crm.read, crm.write]',
    '  crm.accounts.write:', '    description: write', '    risk: medium', `    justified_by: [${writeJustifiedBy.join(', ')}]`,
    extra, '',
  ].join('\n');
}

export function agentYaml(clientId: string, secretHash: string): string {
  return [
    `client_id: ${clientId}`, `name: ${clientId}`, 'owner: sec@example.com', 'status: active',
    'authentication:', '  method: client_secret_basic', `  secret_hash: "${secretHash}"`,
    'tools:', '  crm: [crm.accounts.read, crm.accounts.write]', 'max_ttl: 5m', '',
  ].join('\n');
}

/** `spare`: a second agent with the same secret (a reload may remove it). */
export async function configDirs(clientId: string, secretHash: string, spare?: string): Promise<{ scopes: string; clients: string }> {
  const root = await mkdtemp(join(tmpdir(), 'reload-'));
  const scopes = join(root, 'scopes');
  const clients = join(root, 'clients');
  await mkdir(scopes);
  await mkdir(clients);
  await writeFile(join(scopes, 'crm.yaml'), crmYaml());
  await writeFile(join(clients, `${clientId}.yaml`), agentYaml(clientId, secretHash));
  if (spare !== undefined) await writeFile(join(clients, `${spare}.yaml`), agentYaml(spare, secretHash));
  return { scopes, clients };
}

/**
 * A broker started from those files, through the same loader a reload uses, trusting a real upstream IdP.
 * `overrides` must name the directories (`catalogDir`, `clientsDir`).
 */
export async function startFromFiles(overrides: Partial<BrokerConfig>): Promise<{ broker: RunningTestBroker; idp: UpstreamIdp }> {
  const reserved = await reserveBroker();
  const idp = await startUpstreamIdp({ audience: reserved.issuer });
  const initial = await loadConfigSet(baseConfig(reserved.issuer, overrides), process.cwd());
  const broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)],
    catalog: initial.catalog, agents: [...initial.agents.agents.values()], config: overrides,
  });
  return { broker, idp };
}
