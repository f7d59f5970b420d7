/**
 * The onward-exchange test bed, all real over HTTP: the development identity provider (users' tokens), a
 * broker, the sample SaaS (its own oidc-provider authorization server trusting the broker's JWKS, and its
 * API), an agent and tool identities. Tools: `accounts-jb` (jwt_bearer, private_key_jwt key file),
 * `accounts-tx` (token_exchange, secret from the environment), `billing` (an upstream that never answers).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { buildCatalog } from '../../src/config/load-catalog.js';
import type { Agent } from '../../src/domain/agent.js';
import { saasClient, startSampleSaas, type SampleSaas } from '../../src/dev/sample-saas/sample-saas.js';
import { UpstreamCredentialCache } from '../../src/upstream/credential-cache.js';
import { secretAgent } from './attack-bed.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from './broker-harness.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from './token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from './upstream-idp.js';
import { DEMO_USERS } from '../../src/dev/demo-users.js';

export const AGENT_SECRET = 'agent-secret-for-onward-tests';
export const TOOL_SECRET = 'tool-secret-for-onward-tests';
export const SAAS_SECRET_ENV = 'ONWARD_TEST_SAAS_SECRET';
const SAAS_SECRET = 'saas-secret-for-onward-tests';
export const JB = 'https://accounts-jb.example.test/mcp';
export const TX = 'https://accounts-tx.example.test/mcp';
export const BILLING = 'https://billing.example.test/mcp';
export const BILLING_API = 'https://billing-saas.example.test/api';
/** A tool whose catalog entry says `deliver_to_agent: true` (jwt_bearer, same SaaS). */
export const DA = 'https://accounts-da.example.test/mcp';

export interface OnwardBed {
  readonly broker: RunningTestBroker;
  readonly saas: SampleSaas;
  readonly idp: UpstreamIdp;
  readonly cache: UpstreamCredentialCache;
  /** The agent's exchange of the user's token for a broker token for one tool. */
  agentToken(user: string, resource: string, scope: string): Promise<string>;
  /** The onward exchange as tool identity `toolId` (its secret TOOL_SECRET). */
  onward(clientId: string, subjectToken: string, params?: Record<string, string | undefined>): Promise<RawResponse>;
  close(): Promise<void>;
}

const scopes = {
  'accounts.read': { description: 'read', risk: 'low', justified_by: ['crm.read', 'crm.write'] },
  'accounts.write': { description: 'write', risk: 'medium', justified_by: ['crm.write'] },
};
const mapping = { 'accounts.read': ['accounts:read'], 'accounts.write': ['accounts:write'] };

export async function startOnwardBed(opts: { upstreamTimeoutMs?: number; cache?: UpstreamCredentialCache } = {}): Promise<OnwardBed> {
  const reserved = await reserveBroker();
  // dave is a user of the company (and may read the CRM) but has no account at the SaaS.
  const idp = await startUpstreamIdp({ audience: reserved.issuer, users: [...DEMO_USERS, { username: 'dave', sub: 'dave', email: 'dave@example.com', scopes: ['crm.read'] }] });
  const keysDir = await mkdtemp(join(tmpdir(), 'onward-keys-'));
  const clientKey = await generateKeyPair('ES256', { extractable: true });
  await writeFile(join(keysDir, 'saas-client.jwk.json'), JSON.stringify({ ...(await exportJWK(clientKey.privateKey)), kid: 'broker-at-saas', alg: 'ES256' }), { mode: 0o600 });
  const saas = await startSampleSaas({
    brokerIssuer: reserved.issuer,
    brokerJwksUrl: `${reserved.issuer}/jwks`,
    clients: [
      saasClient({ clientId: 'broker-jb', jwks: { keys: [{ ...(await exportJWK(clientKey.publicKey)), kid: 'broker-at-saas', alg: 'ES256', use: 'sig' }] } }),
      saasClient({ clientId: 'broker-tx', secret: SAAS_SECRET }),
    ],
  });
  // An upstream authorization server that accepts connections and never answers.
  const hanging: Server = createServer(() => { /* never answers */ });
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  const hangingUrl = `http://127.0.0.1:${String((hanging.address() as AddressInfo).port)}`;

  const catalog = buildCatalog([
    { source: 'test/accounts-jb.yaml', data: { id: 'accounts-jb', description: 'accounts via jwt-bearer', resource: JB, max_ttl: 300, scopes,
      upstream: { resource: saas.apiResource, authorization_server: { issuer: saas.issuer }, client: { client_id: 'broker-jb', auth: 'private_key_jwt', key_file: 'saas-client.jwk.json' }, subject_claim: 'sub', scopes: mapping, connector: 'jwt_bearer' } } },
    { source: 'test/accounts-tx.yaml', data: { id: 'accounts-tx', description: 'accounts via token exchange', resource: TX, max_ttl: 300, scopes,
      upstream: { resource: saas.apiResource, authorization_server: { token_endpoint: saas.tokenEndpoint }, assertion_audience: saas.issuer, client: { client_id: 'broker-tx', auth: 'client_secret_basic', secret_env: SAAS_SECRET_ENV }, scopes: mapping, connector: 'token_exchange' } } },
    { source: 'test/accounts-da.yaml', data: { id: 'accounts-da', description: 'accounts, delivered to the agent', resource: DA, max_ttl: 300, scopes,
      upstream: { resource: saas.apiResource, authorization_server: { issuer: saas.issuer }, client: { client_id: 'broker-jb', auth: 'private_key_jwt', key_file: 'saas-client.jwk.json' }, subject_claim: 'sub', scopes: mapping, connector: 'jwt_bearer', deliver_to_agent: true } } },
    { source: 'test/billing.yaml', data: { id: 'billing', description: 'billing', resource: BILLING, max_ttl: 300, scopes,
      upstream: { resource: BILLING_API, authorization_server: { token_endpoint: `${hangingUrl}/token` }, client: { client_id: 'broker', auth: 'client_secret_basic', secret_env: SAAS_SECRET_ENV }, scopes: mapping, connector: 'jwt_bearer' } } },
  ]);
  const tools = { 'accounts-jb': ['accounts.read', 'accounts.write'], 'accounts-tx': ['accounts.read', 'accounts.write'], billing: ['accounts.read'], 'accounts-da': ['accounts.read', 'accounts.write'] };
  const agent = await secretAgent('assistant', AGENT_SECRET, tools);
  const toolIdentity = (clientId: string, toolId: string): Promise<Agent> => secretAgent(clientId, TOOL_SECRET, {}, { kind: 'tool', toolId });
  const cache = opts.cache ?? new UpstreamCredentialCache();
  const broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)],
    catalog,
    agents: [agent, await secretAgent('other-agent', AGENT_SECRET, tools), await toolIdentity('accounts-jb-tool', 'accounts-jb'), await toolIdentity('accounts-tx-tool', 'accounts-tx'), await toolIdentity('billing-tool', 'billing')],
    config: { keysDir, upstreamTimeoutMs: opts.upstreamTimeoutMs ?? 1000 },
    upstream: { cache, env: { [SAAS_SECRET_ENV]: SAAS_SECRET } },
  });

  return {
    broker, saas, idp, cache,
    async agentToken(user, resource, scope) {
      const res = await rawPost(broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: await idp.userToken(user), subject_token_type: AT_TYPE, resource, scope }), { authorization: basic('assistant', AGENT_SECRET) });
      if (res.status !== 200) throw new Error(`agent exchange failed: ${res.text}`);
      return String(res.body.access_token);
    },
    onward(clientId, subjectToken, params = {}) {
      return rawPost(broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: subjectToken, subject_token_type: AT_TYPE, resource: saas.apiResource, ...params }), { authorization: basic(clientId, TOOL_SECRET) });
    },
    async close() {
      await broker.close();
      await saas.close();
      await idp.close();
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => { resolve(); }));
    },
  };
}
