/**
 * Runs a broker process: validated configuration, signing keys (generated on first run in development),
 * the attribution sink, the HTTP listener, and in development mode the development identity provider.
 */
import type { Server } from 'node:http';
import type { AgentRegistry } from '../domain/agent.js';
import type { BrokerConfig } from '../domain/broker-config.js';
import type { Catalog } from '../domain/catalog.js';
import { JsonlFileSink } from '../attribution/jsonl-file-sink.js';
import type { AttributionSink } from '../attribution/sink.js';
import { createDevIdentityProvider, DEV_CONSOLE_CLIENT_ID, DEV_ROLES_CLAIM } from '../dev/dev-identity-provider.js';
import { readSignInSecret } from '../sign-in/sign-in-config.js';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAdminKey } from '../admin/admin-auth.js';
import { sampleCrmApp } from '../dev/sample-crm-server.js';
import { prepareDevSampleKeys, startDevSamples, type DevSamples } from '../dev/sample-mcp-tool/dev-samples.js';
import { TokenValidator } from '../sdk/validator/index.js';
import { hostname } from 'node:os';
import { RedisStreamSink } from '../attribution/redis-stream-sink.js';
import { activeKeyView, loadSigningKeys, MAX_TOKEN_LIFETIME_MS, type SigningKey } from '../keys/signing-keys.js';
import { jwksRoute } from '../keys/jwks-route.js';
import { ROUTES } from '../provider/build-provider.js';
import { claimStateOwner, StateEpoch } from '../state/state-owner.js';
import { readinessGate } from './readiness-gate.js';
import type { SharedState } from '../state/shared-state.js';
import type { Logger } from '../log.js';
import { MemoryState } from '../state/memory-state.js';
import { RedisState } from '../state/redis-state.js';
import { createBroker } from './create-broker.js';
import { redisStateOptions } from './redis-connection.js';
import { close, listen } from './listen.js';
// Issue 19: metrics, tracing, hot reload.
import type { CommitObserver } from '../attribution/group-commit.js';
import { BrokerMetrics } from '../observability/metrics/broker-metrics.js';
import { metricsListener } from '../observability/metrics/metrics-route.js';
import { startTracing, tracingOptionsFromEnv, type TracingOptions } from '../observability/tracing/tracing.js';
import type { ReloadResult } from '../reload/reloader.js';
import { watchConfigDirs } from '../reload/watch.js';
import { vaultFeatureFor } from '../upstream/vault/vault-for-broker.js';
import type { SignIn } from '../sign-in/index.js';
import { approvalOptionsFrom } from '../guardrails/approvals/create-approvals.js';

export interface RunningBroker {
  readonly issuer: string;
  readonly port: number;
  readonly devIdentityProvider?: { readonly issuer: string; readonly port: number };
  readonly keysGenerated: boolean;
  /** Development only: the sample CRM tool server protected by the validation SDK. */
  readonly sampleTool?: { readonly url: string; readonly resource: string };
  /** Development only: where the development admin key was written. */
  readonly adminKeyFile?: string;
  /** The separate metrics listener's port, when one is configured. */
  readonly metricsPort?: number;
  /** Reloads scopes/ and clients/ (SIGHUP, reload/reloader.ts). */
  reload(by: string): Promise<ReloadResult>;
  /** Development only (issue 17): the sample SaaS and the sample MCP tool in front of it. */
  readonly upstreamSamples?: Pick<DevSamples, 'saas' | 'mcpTool' | 'vaultTool'>;
  stop(): Promise<void>;
}

/** Development keys: a fresh admin key written to `<keysDir>/dev-admin.key` (0600) and an in-memory validator key. */
async function developmentKeys(keysDir: string) {
  const admin = await createAdminKey('dev-admin');
  const validator = await createAdminKey('dev-sample-crm');
  const adminKeyFile = join(keysDir, 'dev-admin.key');
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  await writeFile(adminKeyFile, `${admin.key}\n`, { mode: 0o600 });
  return {
    admin: { id: 'dev-admin', hash: admin.hash },
    validator: { id: 'dev-sample-crm', hash: validator.hash },
    validatorKey: validator.key,
    adminKeyFile,
  };
}

/** Records are hash-chained; checkpoints are signed with the broker's active key. */
async function createAttributionSink(config: BrokerConfig, signer: SigningKey, state: SharedState, onCommit: CommitObserver): Promise<AttributionSink> {
  const { attribution } = config;
  const batching = { onCommit, ...(attribution.batchWindowMs === undefined ? {} : { batchWindowMs: attribution.batchWindowMs }) };
  const redaction = attribution.redactUsers === 'hash' && attribution.redactionKeyFile
    ? { redactUsers: 'hash' as const, redactionKey: (await readFile(attribution.redactionKeyFile)).toString('utf8').trim() }
    : {};
  if (attribution.sink === 'redis') {
    if (!(state instanceof RedisState)) throw new Error('attribution.sink redis needs the redis connection');
    return new RedisStreamSink({ redis: state.redis, keyPrefix: state.prefix, replica: attribution.replica ?? `${hostname()}-${String(config.port)}`, signer, ...redaction, ...batching });
  }
  return new JsonlFileSink(attribution.file, { signer, ...redaction, ...batching, ...(attribution.rotate ? { rotate: attribution.rotate } : {}) });
}

export interface StartOptions {
  /** How often the keys directory is re-read (new `next` keys from `broker keys rotate`); default 30 s. */
  readonly keyReloadMs?: number;
  /** How often the Redis state epoch is checked; default 1 s. */
  readonly epochCheckMs?: number;
  /** Tracing; default `tracing:` in broker.yaml (or OTEL_EXPORTER_OTLP_ENDPOINT): off when neither is set. */
  readonly tracing?: TracingOptions;
  /** A separate, key-less metrics listener; default `metrics:` in broker.yaml (or BROKER_METRICS_PORT): none. */
  readonly metricsListener?: { readonly host: string; readonly port: number };
  /** Reload when scopes/ or clients/ change; default `reload.watch` in broker.yaml: off. */
  readonly watchConfig?: boolean;
}

/** The longest lifetime a minted token can have: the catalog's largest tool max_ttl (bounded by 1 h). */
function maxTokenLifetimeMs(catalog: Catalog): number {
  let max = 0;
  for (const tool of catalog.tools.values()) max = Math.max(max, tool.maxTtlSeconds * 1000);
  return max === 0 ? MAX_TOKEN_LIFETIME_MS : Math.min(max, MAX_TOKEN_LIFETIME_MS);
}

export async function startBroker(loaded: { config: BrokerConfig; catalog: Catalog; agents: AgentRegistry }, log: Logger, sink?: AttributionSink, options: StartOptions = {}): Promise<RunningBroker> {
  const development = loaded.config.mode === 'development';
  // Development: an admin key (in keys/dev-admin.key) to try the kill switch, and a validator key for the sample tool.
  const dev = development && loaded.config.devIdentityProvider ? await developmentKeys(loaded.config.keysDir) : undefined;
  const configured: BrokerConfig = dev
    ? { ...loaded.config, adminKeys: [...loaded.config.adminKeys, dev.admin], validatorKeys: [...loaded.config.validatorKeys, dev.validator] }
    : loaded.config;
  let config = configured;
  // Production never invents a key and refuses keys the development default generated (keys/README.md).
  const keys = await loadSigningKeys(config.keysDir, {
    generateIfMissing: development,
    production: config.mode === 'production',
    schedule: { maxTokenLifetimeMs: maxTokenLifetimeMs(loaded.catalog), clockSkewMs: config.clockSkewSeconds * 1000 },
  });
  const servers: Server[] = [];

  let devIdentityProvider: RunningBroker['devIdentityProvider'];
  if (development && config.devIdentityProvider) {
    // The config loader registers exactly this issuer as trusted in development mode.
    const devIssuer = `http://localhost:${config.devIdentityProvider.port}`;
    const devIdp = await createDevIdentityProvider({ issuer: devIssuer, audience: config.issuer, signInRedirectUris: [`${config.issuer}/signin/callback`] });
    const { server, port } = await listen(devIdp.callback(), config.host, config.devIdentityProvider.port);
    servers.push(server);
    devIdentityProvider = { issuer: devIssuer, port };
    // The console signs people in at the development identity provider (its login page, demo users).
    config = config.signIn ? config : { ...config, signIn: { issuer: devIssuer, clientId: DEV_CONSOLE_CLIENT_ID, rolesClaim: DEV_ROLES_CLAIM, sessionSeconds: 8 * 3600 } };
  }
  const signInClientSecret = await readSignInSecret(config.signIn?.clientSecret, process.env);

  // Redis when configured (several replicas), memory otherwise (one process).
  const redisState = config.redis ? await RedisState.connect(await redisStateOptions(config.redis)) : undefined;
  // The prefix belongs to one issuer; a Redis that lost it while running is detected (state-owner.ts).
  let epoch: StateEpoch | undefined;
  if (redisState) {
    try {
      const claim = await claimStateOwner(redisState.redis, redisState.prefix, config.issuer);
      epoch = new StateEpoch(redisState.redis, redisState.prefix, claim, log, options.epochCheckMs);
    } catch (err) {
      await redisState.close();
      throw err;
    }
  }
  const state: SharedState = redisState && epoch ? epoch.guard(redisState) : new MemoryState();
  const metrics = new BrokerMetrics({ processMetrics: true });
  const attribution = sink ?? await createAttributionSink(config, activeKeyView(keys), state, metrics.attributionCommit);
  const tracing = startTracing(options.tracing ?? { ...config.tracing, ...tracingOptionsFromEnv(process.env) });
  if (!config.redis && config.mode === 'production') {
    log.warn('no redis configured: suspensions and revocations live in this process only; run a single replica');
  }
  // Issue 18: broker.yaml `approvals:`; the webhook's HMAC secret comes from the environment, never from a file in git.
  const approvals = approvalOptionsFrom(config.approvals, process.env);
  // Issue 17: the vault, for catalog tools whose upstream is `connector: vault` (users connect once at /connect/<tool>).
  // Its consent flow signs people in with the console's sign-in, which createBroker builds: a reference filled below.
  const personSignIn: { current: SignIn | undefined } = { current: undefined };
  // Development: the sample vault tool's client key at the sample SaaS must exist before the vault reads it.
  if (dev && devIdentityProvider) await prepareDevSampleKeys(loaded.catalog, config.keysDir);
  const vault = await vaultFeatureFor({ config, catalog: loaded.catalog, state, log, record: (record) => attribution.append(record), signIn: () => personSignIn.current });
  const broker = createBroker({
    ...loaded, config, keys, sink: attribution, log, state, metrics, tracing,
    ...(signInClientSecret !== undefined ? { signInClientSecret } : {}), approvals,
    ...(vault ? { vault, upstream: { vault: () => vault.connector() } } : {}),
  });
  personSignIn.current = broker.signIn;
  broker.app.use(jwksRoute(ROUTES.jwks, keys));
  const reload = setInterval(() => {
    keys.reload().catch((err: unknown) => { log.error({ err }, 'signing keys: reload failed; keeping the keys loaded before'); });
  }, options.keyReloadMs ?? 30_000);
  reload.unref();
  const callback = broker.callback();
  const { server, port } = await listen(epoch ? readinessGate(callback, epoch) : callback, config.host, config.port);
  servers.push(server);
  const metricsAt = options.metricsListener ?? config.metricsListener;
  let metricsPort: number | undefined;
  if (metricsAt) {
    const separate = await listen(metricsListener(metrics), metricsAt.host, metricsAt.port);
    servers.push(separate.server);
    metricsPort = separate.port;
  }
  const reloadBy = (by: string) => broker.reloader.reload({ by });
  const watcher = options.watchConfig ?? config.reloadWatch === true
    ? watchConfigDirs([config.catalogDir, config.clientsDir], () => { void reloadBy('file-watch'); }, { log })
    : undefined;

  let sampleTool: RunningBroker['sampleTool'];
  let validator: TokenValidator | undefined;
  const crm = loaded.catalog.tools.get('crm');
  if (dev && devIdentityProvider && crm) {
    validator = await TokenValidator.create({ issuer: config.issuer, resource: crm.resource, revocation: { key: dev.validatorKey } });
    const toolPort = devIdentityProvider.port + 1;
    const tool = await listen(sampleCrmApp(validator, { resource: crm.resource, issuer: config.issuer }).callback(), config.host, toolPort);
    servers.push(tool.server);
    sampleTool = { url: `http://localhost:${String(tool.port)}`, resource: crm.resource };
  }

  // Issue 17 (development only): the sample SaaS and the sample MCP tool, when the sample catalog has them.
  let samples: DevSamples | undefined;
  if (dev && devIdentityProvider) {
    samples = await startDevSamples({ catalog: loaded.catalog, brokerIssuer: config.issuer, keysDir: config.keysDir, host: config.host, validatorKey: dev.validatorKey, port: devIdentityProvider.port + 2 });
  }

  return {
    issuer: config.issuer,
    port,
    ...(samples ? { upstreamSamples: { saas: samples.saas, mcpTool: samples.mcpTool, ...(samples.vaultTool ? { vaultTool: samples.vaultTool } : {}) } } : {}),
    ...(devIdentityProvider ? { devIdentityProvider } : {}),
    keysGenerated: keys.generated,
    ...(sampleTool ? { sampleTool } : {}),
    ...(dev ? { adminKeyFile: dev.adminKeyFile } : {}),
    ...(metricsPort === undefined ? {} : { metricsPort }),
    reload: reloadBy,
    async stop() {
      watcher?.close();
      await samples?.close();
      validator?.close();
      clearInterval(reload);
      epoch?.close();
      await Promise.all(servers.map((srv) => close(srv)));
      broker.close();
      await broker.drain(); // the open interval of unauthenticated denials, before the sink closes
      await attribution.close();
      await tracing.shutdown();
      await state.close();
    },
  };
}
