/**
 * Which catalog tools the vault serves, and how the broker authenticates at each SaaS: from the catalog's
 * `upstream:` entries with `connector: vault`. The consent flow needs the SaaS's authorization endpoint, so a
 * vault upstream is named by its issuer (RFC 8414 discovery); its client credentials come from a key file in
 * the keys directory or a secret from the environment, as for the other connector kinds (never inline).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importJWK, type JWK } from 'jose';
import type { Catalog } from '../../domain/catalog.js';
import type { VaultClientAuth, VaultClientKey } from './saas-client.js';
import type { VaultToolConfig } from './vault-feature.js';
import type { ToolUpstream } from '../upstream-config.js';

export class VaultToolError extends Error {
  override readonly name = 'VaultToolError';
}

async function clientAuthOf(tool: string, upstream: ToolUpstream, keysDir: string, env: NodeJS.ProcessEnv): Promise<VaultClientAuth> {
  const auth = upstream.clientAuth;
  if (auth.method === 'client_secret_basic') {
    const secret = env[auth.secretEnv];
    if (secret === undefined || secret === '') throw new VaultToolError(`tool "${tool}": environment variable ${auth.secretEnv} (its client secret at the SaaS) is not set`);
    return { method: 'client_secret_basic', secret };
  }
  const jwk = JSON.parse(await readFile(join(keysDir, auth.keyFile), 'utf8')) as JWK;
  if (typeof jwk.d !== 'string') throw new VaultToolError(`tool "${tool}": ${auth.keyFile} is not a private key`);
  const key = await importJWK(jwk, jwk.alg ?? 'ES256') as VaultClientKey;
  return { method: 'private_key_jwt', key, ...(jwk.kid ? { kid: jwk.kid } : {}) };
}

/** The vault tools of a catalog; throws VaultToolError naming the tool when one cannot be served. */
export async function vaultToolsOf(catalog: Catalog, keysDir: string, env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<VaultToolConfig[]> {
  const tools: VaultToolConfig[] = [];
  for (const tool of catalog.tools.values()) {
    const upstream = tool.upstream;
    if (upstream?.connector !== 'vault') continue;
    const issuer = upstream.server.issuer;
    if (issuer === undefined || issuer === '') throw new VaultToolError(`tool "${tool.id}": a vault upstream is named by its issuer (the consent flow discovers its authorization endpoint)`);
    // The consent asks for every SaaS scope the tool's catalog scopes map to; each exchange then asks for its own subset.
    const scopes = [...new Set([...upstream.scopes.values()].flat())].sort();
    tools.push({
      tool: tool.id, issuer, clientId: upstream.clientId, clientAuth: await clientAuthOf(tool.id, upstream, keysDir, env), scopes,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
  }
  return tools;
}
