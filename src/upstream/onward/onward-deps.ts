/** Assembles the onward exchange's dependencies for one broker (create-broker.ts calls this once). */
import type { BrokerConfig } from '../../domain/broker-config.js';
import type { Catalog, Tool } from '../../domain/catalog.js';
import { createBrokerTokenVerifier } from '../../introspection/verify-broker-token.js';
import type { SigningKeys } from '../../keys/signing-keys.js';
import type { Logger } from '../../log.js';
import type { SharedState } from '../../state/shared-state.js';
import type { UpstreamConnector } from '../connector.js';
import { createConnectorRegistry } from '../connectors/connector-registry.js';
import { UpstreamCredentialCache } from '../credential-cache.js';
import type { ToolUpstream } from '../upstream-config.js';
import type { OnwardDeps } from './onward-exchange.js';

export interface OnwardSetup {
  readonly config: BrokerConfig;
  readonly catalog: () => Catalog;
  readonly keys: SigningKeys;
  readonly state: SharedState;
  readonly now: () => number;
  readonly log: Logger;
  /** The `vault` connector kind, when the broker runs one (src/upstream/vault/). */
  readonly vault?: (tool: Tool, upstream: ToolUpstream) => UpstreamConnector;
  readonly cache?: UpstreamCredentialCache;
  readonly env?: NodeJS.ProcessEnv;
}

export function createOnwardDeps(setup: OnwardSetup): OnwardDeps {
  const { config } = setup;
  const timeoutMs = config.upstreamTimeoutMs;
  return {
    brokerIssuer: config.issuer,
    catalog: setup.catalog,
    verifyBrokerToken: createBrokerTokenVerifier(config.issuer, setup.keys, config.clockSkewSeconds),
    state: setup.state,
    connectorFor: createConnectorRegistry({
      brokerIssuer: config.issuer,
      keysDir: config.keysDir,
      signingKey: () => setup.keys.active,
      timeoutMs,
      ...(setup.env ? { env: setup.env } : {}),
      ...(setup.vault ? { vault: setup.vault } : {}),
      // The error names the missing file or variable, never a secret.
      onBuildError: (tool, err) => { setup.log.error({ tool, err: err instanceof Error ? err.message : String(err) }, 'upstream connector: client credentials unavailable; onward exchanges fail closed'); },
    }),
    cache: setup.cache ?? new UpstreamCredentialCache(),
    now: setup.now,
    // The whole credential step: discovery plus the token request, each bounded by the connector too.
    timeoutMs: timeoutMs * 2,
  };
}
