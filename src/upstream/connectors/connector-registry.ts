/**
 * One connector per tool with an upstream, built on first use (the broker's client credentials at the SaaS
 * are read then: a key file from the keys directory or a secret from the environment). A connector that cannot
 * be built (missing key or variable) answers `unavailable`: the onward exchange fails closed.
 */
import type { Tool } from '../../domain/catalog.js';
import type { SigningKey } from '../../keys/signing-keys.js';
import type { UpstreamConnector, UpstreamResult } from '../connector.js';
import type { ToolUpstream } from '../upstream-config.js';
import { createAssertionConnector } from './assertion-connectors.js';
import { upstreamClientAuthenticator } from './upstream-server.js';

export interface ConnectorRegistryDeps {
  readonly brokerIssuer: string;
  readonly keysDir: string;
  readonly signingKey: () => SigningKey;
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  /** The `vault` connector kind (src/upstream/vault/), when the broker runs one. */
  readonly vault?: (tool: Tool, upstream: ToolUpstream) => UpstreamConnector;
  readonly onBuildError?: (tool: string, err: unknown) => void;
}

export type ConnectorLookup = (tool: Tool) => Promise<UpstreamConnector | undefined>;

function unavailableConnector(kind: UpstreamConnector['kind'], description: string): UpstreamConnector {
  return { kind, obtain: (): Promise<UpstreamResult> => Promise.resolve({ failure: 'unavailable', description }) };
}

export function createConnectorRegistry(deps: ConnectorRegistryDeps): ConnectorLookup {
  // By tool id and the upstream object itself: a reloaded catalog entry builds a fresh connector.
  const built = new Map<string, { upstream: ToolUpstream; connector: Promise<UpstreamConnector> }>();
  const build = async (tool: Tool, upstream: ToolUpstream): Promise<UpstreamConnector> => {
    if (upstream.connector === 'vault') {
      return deps.vault ? deps.vault(tool, upstream) : unavailableConnector('vault', 'this broker runs no vault for connected accounts');
    }
    try {
      const authenticate = await upstreamClientAuthenticator(upstream, deps.keysDir, deps.env);
      return createAssertionConnector(upstream.connector, { upstream, brokerIssuer: deps.brokerIssuer, signingKey: deps.signingKey, authenticate, timeoutMs: deps.timeoutMs });
    } catch (err) {
      deps.onBuildError?.(tool.id, err);
      return unavailableConnector(upstream.connector, "the broker's client credentials for this upstream are not available");
    }
  };
  return (tool) => {
    const upstream = tool.upstream;
    if (!upstream) return Promise.resolve(undefined);
    const existing = built.get(tool.id);
    if (existing?.upstream === upstream) return existing.connector;
    const connector = build(tool, upstream);
    built.set(tool.id, { upstream, connector });
    return connector;
  };
}
