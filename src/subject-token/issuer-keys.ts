/**
 * Where a trusted issuer's verification keys come from: its configured `jwks_uri`, or the `jwks_uri` of its
 * discovery document (openid-client). Keys are fetched with jose's remote JWKS set: cached, with an unknown
 * `kid` causing at most one refetch per cooldown, no redirects followed, and every fetch bounded in time.
 * Nothing is ever fetched from a token header (jku/x5u/jwk are ignored). Every discovery and JWKS body is
 * bounded in bytes while it streams, and a key set in keys (bounded-fetch.ts): over a bound, the issuer
 * counts as unavailable (the exchange is denied `issuer_unavailable`) and a warning is logged.
 */
import { createRemoteJWKSet, customFetch, jwksCache, type ExportedJWKSCache, type JWKSCacheInput, type RemoteJWKSet } from 'jose';
import * as oidc from 'openid-client';
import { BrokerError } from '../errors/broker-errors.js';
import type { TrustedIssuer } from '../domain/broker-config.js';
import { boundedFetch, DEFAULT_FETCH_BOUNDS, type BoundRefusal, type FetchBounds } from './bounded-fetch.js';

/**
 * Thrown when an issuer's discovery document or keys cannot be obtained in time: callers fail closed. A member
 * of the error model (upstream_unavailable); at the token endpoint it becomes the denial `issuer_unavailable`.
 */
export class IssuerUnavailableError extends BrokerError {
  override readonly name = 'IssuerUnavailableError';
  constructor(message?: string, options?: ErrorOptions) {
    super('upstream_unavailable', message, options);
  }
}

export interface IssuerKeysOptions {
  /** Bound on each discovery/JWKS fetch. */
  readonly timeoutMs: number;
  /** After a failed discovery, further attempts wait this long (requests fail fast meanwhile). */
  readonly retryAfterMs?: number;
  /** Minimum time between JWKS refetches (e.g. for an unknown kid). */
  readonly cooldownMs?: number;
  /** How long fetched keys are trusted without a refetch. */
  readonly cacheMaxAgeMs?: number;
  readonly now?: () => number;
  /** Bounds on discovery and JWKS responses (default 256 KiB, 100 keys). */
  readonly bounds?: Partial<FetchBounds>;
  /** Where a refused (oversized) response is reported. */
  readonly log?: { warn(obj: object, msg: string): void };
}

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

async function discoverJwksUri(issuer: string, timeoutMs: number, fetchImpl: oidc.CustomFetch): Promise<URL> {
  const server = new URL(issuer);
  const config = await oidc.discovery(server, 'agent-token-broker', undefined, oidc.None(), {
    timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
    [oidc.customFetch]: fetchImpl,
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- plain http only on loopback (development and tests)
    ...(server.protocol === 'http:' && isLoopback(server) ? { execute: [oidc.allowInsecureRequests] } : {}),
  });
  const jwksUri = config.serverMetadata().jwks_uri;
  if (!jwksUri) throw new IssuerUnavailableError(`issuer ${issuer} publishes no jwks_uri`);
  return new URL(jwksUri);
}

/** A key resolver for one trusted issuer, created lazily and kept for the life of the process. */
export class IssuerKeys {
  #resolver: RemoteJWKSet | undefined;
  #pending: Promise<RemoteJWKSet> | undefined;
  /** jose writes `uat` here on every successful JWKS fetch: it marks which key set verified a token. */
  readonly #fetched: JWKSCacheInput = {};
  #failedAt: number | undefined;
  readonly #now: () => number;
  readonly #bounds: FetchBounds;

  constructor(
    readonly issuer: TrustedIssuer,
    private readonly options: IssuerKeysOptions,
  ) {
    this.#now = options.now ?? Date.now;
    this.#bounds = { ...DEFAULT_FETCH_BOUNDS, ...options.bounds };
  }

  #fetch(kind: 'discovery' | 'jwks') {
    const report = (refusal: BoundRefusal) => {
      this.options.log?.warn({ issuer: this.issuer.issuer, kind, ...refusal }, 'trusted issuer response over its bound: refused, exchanges fail with issuer_unavailable');
    };
    return boundedFetch(this.#bounds, kind, (message) => new IssuerUnavailableError(message), report);
  }

  /**
   * Identifies the key set currently in use, or `undefined` when there is none or it is older than the
   * cache's maximum age. A verification remembered under one generation is trusted only while the
   * generation is unchanged: any refetch (rotation, a removed key) or staleness invalidates it.
   */
  generation(): number | undefined {
    if (!this.#resolver?.fresh) return undefined;
    return (this.#fetched as Partial<ExportedJWKSCache>).uat;
  }

  /** The jose key resolver, discovering the JWKS location first if needed. */
  async resolver(): Promise<RemoteJWKSet> {
    if (this.#resolver) return this.#resolver;
    const retryAfter = this.options.retryAfterMs ?? 5_000;
    if (this.#failedAt !== undefined && this.#now() - this.#failedAt < retryAfter) {
      throw new IssuerUnavailableError(`discovery for ${this.issuer.issuer} failed recently`);
    }
    this.#pending ??= this.#create().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #create(): Promise<RemoteJWKSet> {
    try {
      const url = this.issuer.jwksUri
        ? new URL(this.issuer.jwksUri)
        : await withTimeout(discoverJwksUri(this.issuer.issuer, this.options.timeoutMs, this.#fetch('discovery')), this.options.timeoutMs);
      this.#resolver = createRemoteJWKSet(url, {
        [customFetch]: this.#fetch('jwks'),
        timeoutDuration: this.options.timeoutMs,
        cooldownDuration: this.options.cooldownMs ?? 30_000,
        cacheMaxAge: this.options.cacheMaxAgeMs ?? 10 * 60_000,
        [jwksCache]: this.#fetched,
      });
      this.#failedAt = undefined;
      return this.#resolver;
    } catch (cause) {
      this.#failedAt = this.#now();
      throw new IssuerUnavailableError(`discovery for ${this.issuer.issuer} failed`, { cause });
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { reject(new IssuerUnavailableError(`timed out after ${ms} ms`)); }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => { clearTimeout(timer); });
}

/** All trusted issuers, looked up by exact `iss`. */
export class TrustedIssuers {
  readonly #byIssuer = new Map<string, IssuerKeys>();

  constructor(issuers: readonly TrustedIssuer[], options: IssuerKeysOptions) {
    for (const issuer of issuers) this.#byIssuer.set(issuer.issuer, new IssuerKeys(issuer, options));
  }

  get(iss: string): IssuerKeys | undefined {
    return this.#byIssuer.get(iss);
  }
}
