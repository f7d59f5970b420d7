/**
 * DEVELOPMENT ONLY. Starts the issue-17 samples next to a development broker when the catalog has the sample
 * tools at the sample SaaS: the SaaS on the loopback port their upstream names, trusting the broker's JWKS and
 * the broker's client key (generated once in the keys directory, 0600) and registering the broker's exact
 * redirect URI for each `vault` tool (`<broker>/connect/<tool>/callback`, RFC 9700 §4.1.3); then one sample
 * MCP tool per sample tool on the next ports, signed in at the broker as that tool's identity. Nothing starts
 * when the ports differ from the catalog's (a development broker on other ports, as in most tests).
 */
import type { Server } from 'node:http';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Catalog, Tool } from '../../domain/catalog.js';
import { close, listen } from '../../server/listen.js';
import { TokenValidator } from '../../sdk/validator/index.js';
import { connectCallbackUrl, connectUrl } from '../../upstream/connect/connect-routes.js';
import type { ToolUpstream } from '../../upstream/upstream-config.js';
import { saasClient, startSampleSaas, type SampleSaas } from '../sample-saas/sample-saas.js';
import { createOnwardClient } from './onward-client.js';
import { sampleMcpToolApp } from './sample-mcp-tool.js';

export const SAMPLE_TOOL_ID = 'accounts';
export const SAMPLE_TOOL_CLIENT_ID = 'accounts-tool';
/** The documented, public secret of the development-only tool identity (clients/accounts-tool.yaml). */
export const SAMPLE_TOOL_SECRET = 'accounts-tool-secret';
/** The sample `vault` tool (scopes/connected-accounts.yaml) and its development-only identity. */
export const VAULT_SAMPLE_TOOL_ID = 'connected-accounts';
export const VAULT_SAMPLE_TOOL_CLIENT_ID = 'connected-accounts-tool';
export const VAULT_SAMPLE_TOOL_SECRET = 'connected-accounts-tool-secret';

/** The sample tools, each with its identity and its MCP server's port offset from the SaaS's. */
const SAMPLE_TOOLS = [
  { id: SAMPLE_TOOL_ID, clientId: SAMPLE_TOOL_CLIENT_ID, secret: SAMPLE_TOOL_SECRET, offset: 1 },
  { id: VAULT_SAMPLE_TOOL_ID, clientId: VAULT_SAMPLE_TOOL_CLIENT_ID, secret: VAULT_SAMPLE_TOOL_SECRET, offset: 2 },
] as const;

export interface SampleMcpTool { readonly url: string; readonly resource: string }

export interface DevSamples {
  /** `provider`: the SaaS's own authorization server (tests observe its RFC 7009 revocations). */
  readonly saas: { readonly issuer: string; readonly api: string; readonly provider: SampleSaas['provider'] };
  /** The `accounts` tool (jwt_bearer). */
  readonly mcpTool: SampleMcpTool;
  /** The `connected-accounts` tool (vault), when the catalog has it: users connect at `connectUrl` first. */
  readonly vaultTool?: SampleMcpTool & { readonly tool: string; readonly connectUrl: string };
  close(): Promise<void>;
}

type SampleTool = { readonly tool: Tool; readonly upstream: ToolUpstream & { readonly clientAuth: { readonly method: 'private_key_jwt'; readonly keyFile: string } } };

/** The catalog's sample tools whose upstream is the sample SaaS on `port` (any port when undefined; loopback, private_key_jwt). */
function sampleToolsOf(catalog: Catalog, port: number | undefined): Map<string, SampleTool> {
  const found = new Map<string, SampleTool>();
  for (const { id } of SAMPLE_TOOLS) {
    const tool = catalog.tools.get(id);
    const upstream = tool?.upstream;
    if (!tool || !upstream || upstream.clientAuth.method !== 'private_key_jwt' || upstream.server.issuer === undefined) continue;
    const issuer = new URL(upstream.server.issuer);
    if (issuer.protocol !== 'http:' || issuer.hostname !== 'localhost' || (port !== undefined && Number(issuer.port) !== port)) continue;
    found.set(id, { tool, upstream: { ...upstream, clientAuth: upstream.clientAuth } });
  }
  return found;
}

/** The broker's private client key at the sample SaaS; its public half is what the SaaS registers. */
async function brokerClientKey(keysDir: string, file: string): Promise<JWK> {
  const path = join(keysDir, file);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as JWK;
  } catch {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: 'dev-broker-at-sample-saas', alg: 'ES256' };
    await mkdir(keysDir, { recursive: true, mode: 0o700 });
    await writeFile(path, JSON.stringify(jwk), { mode: 0o600 });
    await chmod(path, 0o600);
    return jwk;
  }
}

/**
 * Generates the broker's client keys at the sample SaaS before the broker is built: the vault reads a `vault`
 * tool's key at start (vault-tools.ts), so it must exist first. Like the other development keys, generated
 * once in the keys directory (0600, never committed), whatever the ports (the vault is built even when the
 * samples do not start).
 */
export async function prepareDevSampleKeys(catalog: Catalog, keysDir: string): Promise<void> {
  for (const { upstream } of sampleToolsOf(catalog, undefined).values()) await brokerClientKey(keysDir, upstream.clientAuth.keyFile);
}

async function publicOf(jwk: JWK): Promise<JWK> {
  const key = await importJWK(jwk, jwk.alg ?? 'ES256', { extractable: true });
  const { d: _d, ...pub } = await exportJWK(key);
  return { ...pub, kid: jwk.kid ?? 'dev-broker-at-sample-saas', alg: jwk.alg ?? 'ES256', use: 'sig' };
}

/** One registration per client id at the SaaS: its key, and the broker's callback for each of its vault tools. */
async function saasClientsFor(tools: Map<string, SampleTool>, keysDir: string, brokerIssuer: string) {
  const byClient = new Map<string, { jwks: JWK[]; redirectUris: string[] }>();
  for (const { tool, upstream } of tools.values()) {
    const entry = byClient.get(upstream.clientId) ?? { jwks: [], redirectUris: [] };
    const key = await publicOf(await brokerClientKey(keysDir, upstream.clientAuth.keyFile));
    if (!entry.jwks.some((k) => k.kid === key.kid && k.x === key.x)) entry.jwks.push(key);
    if (upstream.connector === 'vault') entry.redirectUris.push(connectCallbackUrl(brokerIssuer, tool.id));
    byClient.set(upstream.clientId, entry);
  }
  return [...byClient].map(([clientId, e]) => saasClient({ clientId, jwks: { keys: e.jwks }, redirectUris: e.redirectUris }));
}

/**
 * `port`: where the samples go (the development identity provider's port + 2, then + 3 and + 4 for the tools);
 * they start only when the sample catalog's upstream names exactly that port (the default layout, 9400-9405).
 */
export async function startDevSamples(opts: { catalog: Catalog; brokerIssuer: string; keysDir: string; host: string; validatorKey: string; port: number }): Promise<DevSamples | undefined> {
  const tools = sampleToolsOf(opts.catalog, opts.port);
  if (!tools.has(SAMPLE_TOOL_ID)) return undefined;
  const saas: SampleSaas = await startSampleSaas({
    brokerIssuer: opts.brokerIssuer, brokerJwksUrl: `${opts.brokerIssuer}/jwks`,
    clients: await saasClientsFor(tools, opts.keysDir, opts.brokerIssuer),
    host: opts.host, port: opts.port, publicHost: 'localhost',
  });
  const validators: TokenValidator[] = [];
  const servers: Server[] = [];
  const started = new Map<string, SampleMcpTool>();
  try {
    for (const sample of SAMPLE_TOOLS) {
      const found = tools.get(sample.id);
      if (!found) continue;
      const validator = await TokenValidator.create({ issuer: opts.brokerIssuer, resource: found.tool.resource, revocation: { key: opts.validatorKey } });
      validators.push(validator);
      const onward = await createOnwardClient({ brokerIssuer: opts.brokerIssuer, clientId: sample.clientId, clientSecret: sample.secret, upstreamResource: found.upstream.resource });
      const app = sampleMcpToolApp({ brokerIssuer: opts.brokerIssuer, resource: found.tool.resource, validator, onward, saasApi: saas.apiResource });
      const listening = await listen(app.callback(), opts.host, opts.port + sample.offset);
      servers.push(listening.server);
      started.set(sample.id, { url: `http://localhost:${String(listening.port)}`, resource: found.tool.resource });
    }
  } catch (err) {
    for (const v of validators) v.close();
    for (const s of servers) await close(s, 0);
    await saas.close();
    throw err;
  }
  const mcpTool = started.get(SAMPLE_TOOL_ID);
  if (!mcpTool) throw new Error('the sample accounts tool did not start');
  const vaultTool = started.get(VAULT_SAMPLE_TOOL_ID);
  return {
    saas: { issuer: saas.issuer, api: saas.apiResource, provider: saas.provider },
    mcpTool,
    ...(vaultTool ? { vaultTool: { ...vaultTool, tool: VAULT_SAMPLE_TOOL_ID, connectUrl: connectUrl(opts.brokerIssuer, VAULT_SAMPLE_TOOL_ID) } } : {}),
    async close() {
      for (const v of validators) v.close();
      for (const s of servers) await close(s, 500);
      await saas.close();
    },
  };
}
