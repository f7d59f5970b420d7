/**
 * The `vault` connector kind assembled for a broker: the vault over the shared state's store, the consent
 * routes, the admin re-encryption route and the revocation hooks. The lead's wiring (create-broker.ts)
 * passes `vault` in BrokerDeps; the catalog's `upstream:` entries of kind `vault` give `tools`.
 */
import type { Middleware } from 'koa';
import type { AdminActions } from '../../admin/admin-actions.js';
import type { AdminCaller } from '../../admin/admin-auth.js';
import type { AdminActionRecord } from '../../admin/admin-record.js';
import type { Logger } from '../../log.js';
import { RedisState } from '../../state/redis-state.js';
import type { SharedState } from '../../state/shared-state.js';
import type { UpstreamConnector } from '../connector.js';
import { connectCallbackUrl, connectRouter, connectUrl } from '../connect/connect-routes.js';
import type { PersonSignIn } from '../connect/signed-in-person.js';
import { MemoryVaultStore } from './memory-vault-store.js';
import { RedisVaultStore } from './redis-vault-store.js';
import { createSaasClient, type VaultClientAuth } from './saas-client.js';
import { Vault, type VaultTool } from './vault.js';
import { vaultAdminRouter } from './vault-admin-routes.js';
import type { VaultKeyRing } from './vault-keys.js';
import { purgeVaultOnRevocation } from './vault-revocation.js';
import type { VaultStore } from './vault-store.js';

/** One catalog tool whose upstream is of kind `vault`. */
export interface VaultToolConfig {
  readonly tool: string;
  /** The SaaS authorization server's issuer (discovery). */
  readonly issuer: string;
  readonly clientId: string;
  /** From a key in keys/ or a secret from the environment: never inline in YAML. */
  readonly clientAuth: VaultClientAuth;
  /** Every SaaS scope the tool's catalog scopes map to: what the consent asks for. */
  readonly scopes: readonly string[];
  /** Bound on each call to the SaaS (default 5 s). */
  readonly timeoutMs?: number;
}

export interface VaultFeatureOptions {
  readonly brokerIssuer: string;
  readonly tools: readonly VaultToolConfig[];
  readonly keys: () => VaultKeyRing;
  readonly store: VaultStore;
  readonly signIn: PersonSignIn;
  readonly log: Logger;
  readonly record: (record: AdminActionRecord) => Promise<void>;
  readonly now?: () => number;
  /** Development: a SaaS on a loopback address may be plain http. */
  readonly allowInsecureLoopback?: boolean;
}

/** Connections live where the rest of the shared state does: Redis in production, memory in development. */
export function vaultStoreFor(state: SharedState): VaultStore {
  return state instanceof RedisState ? new RedisVaultStore(state.redis, state.prefix) : new MemoryVaultStore();
}

export function createVaultFeature(opts: VaultFeatureOptions) {
  const tools = new Map<string, VaultTool>(opts.tools.map((t) => {
    const upstream = {
      issuer: t.issuer, clientId: t.clientId, clientAuth: t.clientAuth, scopes: t.scopes,
      redirectUri: connectCallbackUrl(opts.brokerIssuer, t.tool), timeoutMs: t.timeoutMs ?? 5000,
      ...(opts.allowInsecureLoopback ? { allowInsecureHttp: true } : {}),
    };
    return [t.tool, { tool: t.tool, upstream, client: createSaasClient(upstream) }];
  }));
  const vault = new Vault({
    store: opts.store, keys: opts.keys, tools: () => tools, connectUrl: (tool) => connectUrl(opts.brokerIssuer, tool),
    log: opts.log, record: opts.record, ...(opts.now ? { now: opts.now } : {}),
  });
  return {
    vault,
    /** The onward exchange's connector for every `vault` tool. */
    connector: (): UpstreamConnector => vault.connector(),
    /** `/connect/...` */
    routes: (): Middleware => connectRouter({ vault, tools: () => tools, keys: opts.keys, signIn: opts.signIn, brokerIssuer: opts.brokerIssuer, log: opts.log }).routes() as Middleware,
    /** `POST /admin/vault/reencrypt` */
    adminRoutes: (authenticate: (authorization: string | undefined, callerAddress: string) => Promise<AdminCaller | undefined>): Middleware =>
      vaultAdminRouter({ vault, authenticate, record: opts.record, ...(opts.now ? { now: opts.now } : {}) }).routes() as Middleware,
    /** The admin actions, with connections deleted/caches dropped on revocation. */
    withRevocations: (actions: AdminActions): AdminActions => purgeVaultOnRevocation(actions, vault),
  };
}

export type VaultFeature = ReturnType<typeof createVaultFeature>;
