/**
 * DEVELOPMENT ONLY. Starts the issue-17 samples next to a development broker when the catalog has the sample
 * `accounts` tool (scopes/accounts.yaml): the sample SaaS on the loopback port its upstream names, trusting
 * the broker's JWKS and the broker's client key (generated once in the keys directory, 0600), and the sample
 * MCP tool on the next port, signed in at the broker as the `accounts-tool` identity. Nothing starts when the
 * ports differ from the catalog's (a development broker on other ports, as in the tests).
 */
import type { Server } from 'node:http';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Catalog } from '../../domain/catalog.js';
import { close, listen } from '../../server/listen.js';
import { TokenValidator } from '../../sdk/validator/index.js';
import { saasClient, startSampleSaas, type SampleSaas } from '../sample-saas/sample-saas.js';
import { createOnwardClient } from './onward-client.js';
import { sampleMcpToolApp } from './sample-mcp-tool.js';

export const SAMPLE_TOOL_ID = 'accounts';
export const SAMPLE_TOOL_CLIENT_ID = 'accounts-tool';
/** The documented, public secret of the development-only tool identity (clients/accounts-tool.yaml). */
export const SAMPLE_TOOL_SECRET = 'accounts-tool-secret';

export interface DevSamples {
  readonly saas: { readonly issuer: string; readonly api: string };
  readonly mcpTool: { readonly url: string; readonly resource: string };
  close(): Promise<void>;
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

async function publicOf(jwk: JWK): Promise<JWK> {
  const key = await importJWK(jwk, jwk.alg ?? 'ES256', { extractable: true });
  const { d: _d, ...pub } = await exportJWK(key);
  return { ...pub, kid: jwk.kid ?? 'dev-broker-at-sample-saas', alg: jwk.alg ?? 'ES256', use: 'sig' };
}

/**
 * `port`: where the samples go (the development identity provider's port + 2, and + 3 for the tool); they start
 * only when the sample catalog's upstream names exactly that port (the default layout, 9400-9404).
 */
export async function startDevSamples(opts: { catalog: Catalog; brokerIssuer: string; keysDir: string; host: string; validatorKey: string; port: number }): Promise<DevSamples | undefined> {
  const tool = opts.catalog.tools.get(SAMPLE_TOOL_ID);
  const upstream = tool?.upstream;
  if (!tool || !upstream || !('issuer' in upstream.server) || upstream.clientAuth.method !== 'private_key_jwt') return undefined;
  const issuerUrl = new URL(upstream.server.issuer ?? '');
  if (issuerUrl.protocol !== 'http:' || issuerUrl.hostname !== 'localhost') return undefined;
  const port = Number(issuerUrl.port);
  if (port !== opts.port) return undefined;

  const key = await brokerClientKey(opts.keysDir, upstream.clientAuth.keyFile);
  const saas: SampleSaas = await startSampleSaas({
    brokerIssuer: opts.brokerIssuer, brokerJwksUrl: `${opts.brokerIssuer}/jwks`,
    clients: [saasClient({ clientId: upstream.clientId, jwks: { keys: [await publicOf(key)] } })],
    host: opts.host, port, publicHost: 'localhost',
  });
  let validator: TokenValidator | undefined;
  let server: Server | undefined;
  try {
    validator = await TokenValidator.create({ issuer: opts.brokerIssuer, resource: tool.resource, revocation: { key: opts.validatorKey } });
    const onward = await createOnwardClient({ brokerIssuer: opts.brokerIssuer, clientId: SAMPLE_TOOL_CLIENT_ID, clientSecret: SAMPLE_TOOL_SECRET, upstreamResource: upstream.resource });
    const app = sampleMcpToolApp({ brokerIssuer: opts.brokerIssuer, resource: tool.resource, validator, onward, saasApi: saas.apiResource });
    const listening = await listen(app.callback(), opts.host, port + 1);
    server = listening.server;
    const url = `http://localhost:${String(listening.port)}`;
    const started = server;
    const v = validator;
    return {
      saas: { issuer: saas.issuer, api: saas.apiResource },
      mcpTool: { url, resource: tool.resource },
      async close() {
        v.close();
        await close(started, 500);
        await saas.close();
      },
    };
  } catch (err) {
    validator?.close();
    if (server) await close(server, 0);
    await saas.close();
    throw err;
  }
}
