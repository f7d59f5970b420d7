/**
 * TEST BED for the console's guardrail, vault and Redis features: a real broker (createBroker) with
 * - person sign-in at a real oidc-provider (the development identity provider) with its own people:
 *   alice (operator, approver), bob (viewer), dave (operator, not an approver);
 * - Redis shared state and the Redis attribution sink under a unique prefix (so the explorer reads streams);
 * - the sample payments tool (approvals above 1,000 EUR) and an agent with budgets, loaded from files in a
 *   temporary catalog/clients directory, which a test may break to see a reload refused;
 * - the vault for tool `crm` against a real SaaS authorization server (test/support/vault-saas.ts).
 */
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fetchDevToken } from '../../src/cli/dev-token-command.js';
import { RedisStreamSink } from '../../src/attribution/redis-stream-sink.js';
import { createDevIdentityProvider, DEV_CONSOLE_CLIENT_ID, DEV_ROLES_CLAIM } from '../../src/dev/dev-identity-provider.js';
import type { DemoUser } from '../../src/dev/demo-users.js';
import type { BrokerConfig } from '../../src/domain/broker-config.js';
import { loadSigningKeys } from '../../src/keys/signing-keys.js';
import { createLogger } from '../../src/log.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import { loadConfigSet } from '../../src/reload/load-sets.js';
import { createBroker, type Broker } from '../../src/server/create-broker.js';
import { close, listen, serve } from '../../src/server/listen.js';
import { RedisState } from '../../src/state/redis-state.js';
import { personSignInFrom } from '../../src/upstream/connect/console-sign-in.js';
import { connectCallbackUrl } from '../../src/upstream/connect/connect-routes.js';
import { createVaultFeature, vaultStoreFor } from '../../src/upstream/vault/vault-feature.js';
import { baseConfig, trustedIssuer } from '../support/broker-harness.js';
import { REDIS_URL } from '../support/redis.js';
import { startVaultSaas, type VaultSaas } from '../support/vault-saas.js';
import { ringOf } from '../support/vault-bed.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../support/token-request.js';
import { paymentDetail, type PaymentCall } from '../guardrails/payments-tool.js';

const REPO = resolve(import.meta.dirname, '..', '..');
export const PAY_AGENT = 'pay-agent';
const PAY_SECRET = 'console-bed-agent-secret';
export const PAYMENTS = 'https://payments.example.internal/api';

export const PEOPLE: readonly DemoUser[] = [
  { username: 'alice', sub: 'alice', email: 'alice@example.com', scopes: ['payments.write', 'payments.read'], name: 'Alice (operator, approver)', password: 'alice-pw', roles: ['operator', 'approver'] },
  { username: 'bob', sub: 'bob', email: 'bob@example.com', scopes: ['payments.read'], name: 'Bob (viewer)', password: 'bob-pw', roles: ['viewer'] },
  { username: 'dave', sub: 'dave', email: 'dave@example.com', scopes: ['payments.read'], name: 'Dave (operator)', password: 'dave-pw', roles: ['operator'] },
];

export interface ConsoleBed {
  readonly url: string;
  readonly idp: string;
  readonly saas: VaultSaas;
  readonly broker: Broker;
  readonly state: RedisState;
  readonly sink: RedisStreamSink;
  /** The catalog and clients directories the broker loaded (and reloads). */
  readonly dir: string;
  /** A payment exchange by the agent for alice; `approvalId` polls an approval. */
  pay(call: PaymentCall, approvalId?: string): Promise<RawResponse>;
  close(): Promise<void>;
}

const AGENT_YAML = (hash: string) => `client_id: ${PAY_AGENT}
name: Payments assistant
owner: finance-team@example.com
status: active
authentication:
  method: client_secret_basic
  secret_hash: "${hash}"
tools:
  payments: [payments.read, payments.create]
max_ttl: 10m
stage: autonomous
budgets:
  overall: { exchanges_per_hour: 50 }
  tools:
    payments: { exchanges_per_hour: 20, amount_minor_per_day: { EUR: 500000 } }
  on_exceed: refuse
`;

export async function startConsoleBed(prefix: string, adminKeys: BrokerConfig['adminKeys'] = []): Promise<ConsoleBed> {
  const dir = await mkdtemp(join(tmpdir(), 'console-bed-'));
  await mkdir(join(dir, 'scopes'));
  await mkdir(join(dir, 'clients'));
  await copyFile(join(REPO, 'scopes', 'payments.yaml'), join(dir, 'scopes', 'payments.yaml'));
  await writeFile(join(dir, 'clients', 'pay-agent.yaml'), AGENT_YAML(await hashClientSecret(PAY_SECRET)));

  const listener = await listen(undefined, '127.0.0.1', 0);
  const url = `http://127.0.0.1:${String(listener.port)}`;
  const idpListener = await listen(undefined, '127.0.0.1', 0);
  const idp = `http://127.0.0.1:${String(idpListener.port)}`;
  const provider = await createDevIdentityProvider({ issuer: idp, audience: url, signInRedirectUris: [`${url}/signin/callback`], users: PEOPLE });
  serve(idpListener.server, provider.callback());
  const saas = await startVaultSaas({ redirectUris: [connectCallbackUrl(url, 'crm')] });

  const log = createLogger(process.env.DEBUG_CONSOLE ? 'debug' : 'silent');
  const state = await RedisState.connect({ url: REDIS_URL, prefix });
  const keys = await loadSigningKeys(join(dir, 'keys'), { generateIfMissing: true });
  const sink = new RedisStreamSink({ redis: state.redis, keyPrefix: prefix, replica: 'console-bed', signer: keys.active, checkpointEveryRecords: 5 });
  const config = baseConfig(url, {
    catalogDir: join(dir, 'scopes'), clientsDir: join(dir, 'clients'), keysDir: join(dir, 'keys'),
    trustedIssuers: [trustedIssuer(idp, url)],
    attribution: { file: 'unused', sink: 'redis', replica: 'console-bed' },
    adminKeys,
    signIn: { issuer: idp, clientId: DEV_CONSOLE_CLIENT_ID, rolesClaim: DEV_ROLES_CLAIM, sessionSeconds: 3600 },
  });
  const set = await loadConfigSet(config, dir);
  const late: { broker?: Broker } = {};
  const ring = ringOf('k1');
  const vault = createVaultFeature({
    brokerIssuer: url,
    tools: [{ tool: 'crm', issuer: saas.issuer, clientId: saas.clientId, clientAuth: { method: 'client_secret_basic', secret: saas.clientSecret }, scopes: saas.scopes, timeoutMs: 2000 }],
    keys: () => ring, store: vaultStoreFor(state), log, allowInsecureLoopback: true,
    record: (r) => sink.append(r),
    // The broker's own person sign-in, once the broker exists (as start-broker.ts wires it).
    signIn: {
      current: (ctx) => (late.broker?.signIn ? personSignInFrom(late.broker.signIn).current(ctx) : Promise.resolve(undefined)),
      signInUrl: (returnTo) => `/signin/login?return_to=${encodeURIComponent(returnTo)}`,
    },
  });
  const broker = createBroker({
    config, catalog: set.catalog, agents: set.agents, keys, sink, log, state, vault,
    loadConfigSet: () => loadConfigSet(config, dir),
  });
  late.broker = broker;
  serve(listener.server, broker.callback());

  return {
    url, idp, saas, broker, state, sink, dir,
    async pay(call, approvalId) {
      return rawPost(`${url}/token`, form({
        grant_type: TE_GRANT, subject_token: await fetchDevToken(idp, 'alice'), subject_token_type: AT_TYPE,
        resource: PAYMENTS, scope: 'payments.create', authorization_details: JSON.stringify([paymentDetail(call)]),
        ...(approvalId !== undefined ? { approval_id: approvalId } : {}),
      }), { authorization: basic(PAY_AGENT, PAY_SECRET) });
    },
    async close() {
      broker.close();
      await broker.drain();
      await close(listener.server, 0);
      await close(idpListener.server, 0);
      await sink.close();
      await saas.close();
      await state.close();
    },
  };
}
