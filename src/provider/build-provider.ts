/**
 * oidc-provider configured as the broker's authorization-server core: RFC 8414 discovery (which advertises
 * the token and revocation endpoints, the token-exchange grant and the two client authentication methods),
 * the JWKS, and the replay cache of client assertions (its `ReplayDetection` model over the adapter, shared
 * by replicas through Redis: provider/assertion-replay.ts). Neither the token endpoint nor `/revoke` is
 * oidc-provider's: both are the broker's own handlers, mounted in front of its router, and authenticate
 * agents with the broker's client-authentication step against the agents in force (hot reload). So
 * oidc-provider holds no client registry (`clients: []`): nothing of it authenticates a client. Everything
 * else it can do is switched off.
 */
import type { SigningKeys } from '../keys/signing-keys.js';
import { DPOP_ALGORITHMS } from '../dpop/verify-dpop-proof.js';
import { isolatedMemoryAdapter } from './memory-adapter.js';
import { Provider, type Configuration, type ErrorOut, type KoaContextWithOIDC } from './oidc-provider.js';
import { AgentSecretChecker } from '../auth/agent-secret-guard.js';
import { CLIENT_ASSERTION_ALGS } from '../token-endpoint/steps/client-authentication/client-assertion.js';
import { FailureThrottle, DEFAULT_FAILURE_THROTTLE } from '../auth/failure-throttle.js';
import { SecretCheckGate } from '../auth/secret-check-gate.js';
import type { BrokerConfig } from '../domain/broker-config.js';
import { MemoryState } from '../state/memory-state.js';
import type { SharedState } from '../state/shared-state.js';
import { securityHeaders } from '../http/security-headers.js';
import { publicMetadata, unusedRoutes, UNUSED_ROUTES } from './provider-surface.js';

export const ROUTES = { token: '/token', jwks: '/jwks', revocation: '/revoke' } as const;

/** RFC 8414 §3 and OpenID Connect Discovery: the two metadata documents (the same content). */
export const METADATA_PATHS = ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'] as const;

export interface ProviderOptions {
  readonly issuer: string;
  readonly keys: SigningKeys;
  /** oidc-provider storage (replay cache for client assertions). Defaults to in-memory. */
  readonly adapter?: Configuration['adapter'];
  readonly clockSkewSeconds: number;
}

export interface SecretCheckerOptions {
  /** Where failed secret checks are counted (shared by replicas); defaults to this process's memory. */
  readonly state?: SharedState;
  readonly secretChecks?: BrokerConfig['secretChecks'];
  /** Told when the shared state cannot count a failure (the throttle then counts locally). */
  readonly onThrottleStateError?: (err: unknown) => void;
}

export { CLIENT_ASSERTION_ALGS };

/** Secrets are stored only as scrypt hashes (see client-secret-hash.ts), checked behind a gate and a throttle. */
export function createAgentSecretChecker(opts: SecretCheckerOptions): AgentSecretChecker {
  const tuning = opts.secretChecks ?? {};
  return new AgentSecretChecker({
    gate: new SecretCheckGate(tuning),
    throttle: new FailureThrottle(opts.state ?? new MemoryState(), {
      perAddress: tuning.perAddress ?? DEFAULT_FAILURE_THROTTLE.perAddress,
      perClient: tuning.perClient ?? DEFAULT_FAILURE_THROTTLE.perClient,
    }, Date.now, opts.onThrottleStateError),
  });
}

function renderJsonError(ctx: KoaContextWithOIDC, out: ErrorOut): void {
  ctx.type = 'application/json';
  ctx.body = out;
}

export function buildProvider(opts: ProviderOptions): Provider {
  const configuration: Configuration = {
    adapter: opts.adapter ?? isolatedMemoryAdapter(`broker:${opts.issuer}`),
    // No client registry: agents are authenticated by the broker's own step, against the agents in force.
    clients: [],
    jwks: { keys: opts.keys.all.map((k) => ({ ...k.privateJwk })) },
    // Every route pinned, the unused ones too, so that the 404 guard below names exactly what is mounted.
    routes: { ...UNUSED_ROUTES, token: ROUTES.token, jwks: ROUTES.jwks, revocation: ROUTES.revocation },
    responseTypes: ['none'],
    // Only ES256 keys exist; oidc-provider's client default (RS256) would not validate.
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    scopes: [],
    // What discovery advertises: the methods and algorithms of src/token-endpoint/steps/client-authentication.ts.
    clientAuthMethods: ['private_key_jwt', 'client_secret_basic'],
    enabledJWA: { clientAuthSigningAlgValues: [...CLIENT_ASSERTION_ALGS] },
    clockTolerance: opts.clockSkewSeconds,
    // No browser origin may call the token or revocation endpoint (agents are servers; RFC 9700 §2.5).
    clientBasedCORS: () => false,
    features: {
      devInteractions: { enabled: false },
      // Off on purpose: DPoP at the token endpoint is the broker's own check (src/token-endpoint/steps/dpop.ts).
      dPoP: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      resourceIndicators: { enabled: false },
      userinfo: { enabled: false },
      introspection: { enabled: false },
      // RFC 7009 is the broker's own endpoint (src/revocation/revocation-endpoint.ts), advertised below.
      revocation: { enabled: false },
      registration: { enabled: false },
      clientCredentials: { enabled: false },
    },
    // The broker's own endpoints (oidc-provider cannot introspect the broker's structured tokens).
    discovery: {
      introspection_endpoint: `${opts.issuer}/introspect`,
      revocation_endpoint: `${opts.issuer}${ROUTES.revocation}`,
      revocation_feed_endpoint: `${opts.issuer}/revocations/stream`,
      // RFC 9449 §5.1: the broker verifies DPoP proofs itself (src/token-endpoint/steps/dpop.ts).
      dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
    },
    // Token-endpoint errors are JSON whatever the Accept header says.
    renderError: renderJsonError,
  };
  const provider = new Provider(opts.issuer, configuration);
  provider.proxy = false;
  // oidc-provider builds its URLs (the metadata) from the request's
  // Host header and scheme; the broker's are always the configured issuer's (RFC 8414 §3.3: the metadata
  // must describe this issuer, whatever `Host` or `X-Forwarded-Host` a caller sends).
  const issuer = opts.issuer;
  provider.OIDCContext.prototype.urlFor = function urlFromIssuer(name: string, options?: Record<string, unknown>): string {
    return `${issuer}${provider.pathFor(name, { ...options, mountPath: '' })}`;
  };
  // First in line, so they cover every answer: headers, then the 404s for what the broker does not serve.
  provider.use(securityHeaders(new Set([...METADATA_PATHS, ROUTES.jwks])));
  provider.use(unusedRoutes());
  provider.use(publicMetadata(METADATA_PATHS));
  return provider;
}
