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
import { createDevIdentityProvider } from '../dev/dev-identity-provider.js';
import { loadSigningKeys } from '../keys/signing-keys.js';
import type { Logger } from '../log.js';
import { MemoryState } from '../state/memory-state.js';
import { RedisState } from '../state/redis-state.js';
import { createBroker } from './create-broker.js';
import { close, listen } from './listen.js';

export interface RunningBroker {
  readonly issuer: string;
  readonly port: number;
  readonly devIdentityProvider?: { readonly issuer: string; readonly port: number };
  readonly keysGenerated: boolean;
  stop(): Promise<void>;
}

export async function startBroker(loaded: { config: BrokerConfig; catalog: Catalog; agents: AgentRegistry }, log: Logger, sink?: AttributionSink): Promise<RunningBroker> {
  const { config } = loaded;
  const development = config.mode === 'development';
  const keys = await loadSigningKeys(config.keysDir, { generateIfMissing: development });
  // Records are hash-chained; checkpoints are signed with the broker's active key.
  const attribution = sink ?? new JsonlFileSink(config.attribution.file, { signer: keys.active });
  const servers: Server[] = [];

  let devIdentityProvider: RunningBroker['devIdentityProvider'];
  if (development && config.devIdentityProvider) {
    // The config loader registers exactly this issuer as trusted in development mode.
    const devIssuer = `http://localhost:${config.devIdentityProvider.port}`;
    const devIdp = await createDevIdentityProvider({ issuer: devIssuer, audience: config.issuer });
    const { server, port } = await listen(devIdp.callback(), config.host, config.devIdentityProvider.port);
    servers.push(server);
    devIdentityProvider = { issuer: devIssuer, port };
  }

  // Redis when configured (several replicas), memory otherwise (one process).
  const state = config.redis ? await RedisState.connect({ url: config.redis.url, prefix: config.redis.prefix }) : new MemoryState();
  if (!config.redis && config.mode === 'production') {
    log.warn('no redis configured: suspensions and revocations live in this process only; run a single replica');
  }
  const broker = createBroker({ ...loaded, keys, sink: attribution, log, state });
  const { server, port } = await listen(broker.app.callback(), config.host, config.port);
  servers.push(server);

  return {
    issuer: config.issuer,
    port,
    ...(devIdentityProvider ? { devIdentityProvider } : {}),
    keysGenerated: keys.generated,
    async stop() {
      await Promise.all(servers.map(close));
      await attribution.close();
      await state.close();
    },
  };
}
