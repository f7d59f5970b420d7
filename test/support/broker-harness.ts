/**
 * A broker on an ephemeral loopback port with an in-memory attribution sink, for integration tests.
 * Two phases because the issuer identifiers of the broker and the upstream IdP refer to each other:
 * `reserveBroker()` binds the port (so the issuer is known), `start()` builds the broker on it.
 */
import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import type { Agent, AgentRegistry } from '../../src/domain/agent.js';
import type { BrokerConfig, TrustedIssuer } from '../../src/domain/broker-config.js';
import type { Catalog } from '../../src/domain/catalog.js';
import { MemorySink } from '../../src/attribution/memory-sink.js';
import type { SharedState } from '../../src/state/shared-state.js';
import { loadSigningKeys, type SigningKeys } from '../../src/keys/signing-keys.js';
import { createLogger } from '../../src/log.js';
import { createBroker, type Broker, type BrokerDeps } from '../../src/server/create-broker.js';
import type { ApprovalOptions, Approvals } from '../../src/guardrails/approvals/create-approvals.js';
import type { Provider } from '../../src/provider/oidc-provider.js';
import { close, listen, serve } from '../../src/server/listen.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ReservedBroker {
  readonly issuer: string;
  start(opts: BrokerStartOptions): Promise<RunningTestBroker>;
}

export interface BrokerStartOptions {
  readonly trustedIssuers: readonly TrustedIssuer[];
  readonly catalog: Catalog;
  readonly agents: readonly Agent[];
  readonly config?: Partial<BrokerConfig>;
  readonly now?: () => number;
  readonly state?: SharedState;
  /** Whether sources refused from memory are answered in front of the app (default on, as deployed). */
  readonly fastRefusal?: boolean;
  /** Whether POST /token is answered in front of the app (default on; off with `beforeServe`, which must see every request). */
  readonly tokenFastPath?: boolean;
  /** Sees the app before it is served (tests add a first middleware to observe which requests reach it). */
  readonly beforeServe?: (app: Provider) => void;
  /** Issue 19: tracing and the source of reloads (create-broker.ts). */
  readonly tracing?: BrokerDeps['tracing'];
  readonly loadConfigSet?: BrokerDeps['loadConfigSet'];
  /** Issue 17: the upstream connectors' environment, vault and credential cache. */
  readonly upstream?: BrokerDeps['upstream'];
  /** Issue 18: approval settings (webhook secret, polling interval). */
  readonly approvals?: ApprovalOptions;
  /** Signing keys shared with another replica (default: fresh keys for this broker). */
  readonly keys?: SigningKeys;
}

export interface RunningTestBroker {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly sink: MemorySink;
  readonly keys: SigningKeys;
  /** The live agent registry the broker reads on every request (tests may suspend an agent in place). */
  readonly agents: Map<string, Agent>;
  /** The shared state (suspensions, revocations) this broker reads. */
  readonly state: SharedState;
  /** The broker itself (metrics, reloader, step observer). */
  readonly broker: Broker;
  /** Issue 18: the approval gate and store of this replica. */
  readonly approvals: Approvals;
  close(): Promise<void>;
}

export function baseConfig(issuer: string, overrides: Partial<BrokerConfig> = {}): BrokerConfig {
  return {
    mode: 'development',
    issuer,
    host: '127.0.0.1',
    port: 0,
    trustedIssuers: [],
    maxDelegationDepth: 4,
    clockSkewSeconds: 10,
    upstreamTimeoutMs: 1000,
    catalogDir: 'scopes',
    clientsDir: 'clients',
    keysDir: 'keys',
    attribution: { file: 'unused' },
    limits: { maxBodyBytes: 49152, maxTokenChars: 16384, maxScopes: 32 },
    logLevel: 'silent',
    adminKeys: [],
    validatorKeys: [],
    ...overrides,
  };
}

/**
 * `issuer` given: a further replica of that broker (same issuer identifier, its own port), as behind a
 * load balancer; `url` is then where this replica itself listens.
 */
export async function reserveBroker(opts: { readonly issuer?: string } = {}): Promise<ReservedBroker & { readonly url: string }> {
  const { server, port } = await listen(undefined, '127.0.0.1', 0);
  const url = `http://127.0.0.1:${port}`;
  const issuer = opts.issuer ?? url;
  return {
    issuer,
    url,
    async start(opts) {
      const keysDir = await mkdtemp(join(tmpdir(), 'broker-keys-'));
      const keys = opts.keys ?? await loadSigningKeys(keysDir, { generateIfMissing: true });
      const sink = new MemorySink();
      const agents = new Map(opts.agents.map((a) => [a.clientId, a]));
      const registry: AgentRegistry = { agents };
      const broker = createBroker({
        config: baseConfig(issuer, { trustedIssuers: opts.trustedIssuers, keysDir, ...opts.config }),
        catalog: opts.catalog,
        agents: registry,
        keys,
        sink,
        log: createLogger('silent'),
        ...(opts.now ? { now: opts.now } : {}),
        ...(opts.state ? { state: opts.state } : {}),
        ...(opts.fastRefusal === undefined ? {} : { fastRefusal: opts.fastRefusal }),
        ...(opts.tokenFastPath === false || opts.beforeServe ? { tokenFastPath: false } : {}),
        ...(opts.tracing ? { tracing: opts.tracing } : {}),
        ...(opts.loadConfigSet ? { loadConfigSet: opts.loadConfigSet } : {}),
        ...(opts.upstream ? { upstream: opts.upstream } : {}),
        ...(opts.approvals ? { approvals: opts.approvals } : {}),
      });
      opts.beforeServe?.(broker.app);
      serve(server, broker.callback());
      return { issuer, tokenEndpoint: `${url}/token`, sink, keys, agents, state: broker.state, broker, approvals: broker.approvals, close: async () => { broker.close(); await close(server, 0); } };
    },
  };
}

export function trustedIssuer(issuer: string, audience: string, overrides: Partial<TrustedIssuer> = {}): TrustedIssuer {
  return {
    issuer,
    audiences: [audience],
    algorithms: ['ES256', 'RS256'],
    scopeClaim: 'scope',
    tokenTypes: ['at+jwt'],
    issuesActorTokens: false,
    ...overrides,
  };
}

/** A private_key_jwt agent with a freshly generated ES256 key. */
export async function keyAgent(clientId: string, tools: Record<string, string[]>, overrides: Partial<Agent> = {}): Promise<{ agent: Agent; privateKey: CryptoKey; kid: string }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `${clientId}-key`;
  const agent: Agent = {
    clientId,
    name: `${clientId} (test)`,
    owner: 'tests@example.com',
    status: 'active',
    authentication: { method: 'private_key_jwt', jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] } },
    tools: new Map(Object.entries(tools)),
    maxTtlSeconds: 600,
    actorToken: { allowed: false, subjects: [] },
    devOnly: false,
    source: `test:${clientId}`,
    ...overrides,
  };
  return { agent, privateKey, kid };
}
