/** The broker's own configuration (file + environment overrides), after validation. */
import type { JWK } from 'jose';
import type { SignInSettings } from '../sign-in/sign-in-config.js';

export interface TrustedIssuer {
  /** Exact `iss` value its tokens carry. */
  readonly issuer: string;
  /** Where its keys come from: `jwksUri` if given, else the `jwks_uri` from OIDC/OAuth discovery of `issuer`. */
  readonly jwksUri?: string;
  /** The subject token's `aud` must contain one of these. */
  readonly audiences: readonly string[];
  /** JWS algorithms accepted from this issuer. Never `none`, never HS*. */
  readonly algorithms: readonly string[];
  /** The claim that holds the user's scopes: a space-separated `scope` string or an `scp` array. */
  readonly scopeClaim: 'scope' | 'scp';
  /** Accepted `typ` header values for access tokens (compared case-insensitively, with or without "application/"). */
  readonly tokenTypes: readonly string[];
  /** Reject tokens whose `iat` is older than this; undefined = only `exp` bounds it. */
  readonly maxTokenAgeSeconds?: number;
  /** Whether this issuer's tokens may be presented as `actor_token`. */
  readonly issuesActorTokens: boolean;
}

export interface RequestLimits {
  /** Largest accepted token-endpoint body, in bytes. */
  readonly maxBodyBytes: number;
  /** Largest accepted subject or actor token, in characters. */
  readonly maxTokenChars: number;
  /** Most distinct scopes a request may name. */
  readonly maxScopes: number;
}

export type BrokerMode = 'development' | 'production';

/** A secret named by reference: the environment variable or the file that holds it, never the value. */
export type SecretReference = { readonly env: string } | { readonly file: string };

export interface RedisNodeAddress {
  readonly host: string;
  readonly port: number;
}

/** Exactly one way to reach Redis. */
export type RedisEndpointSettings =
  | { readonly url: string }
  | { readonly sentinel: { readonly sentinels: readonly RedisNodeAddress[]; readonly name: string; readonly password?: SecretReference } }
  | { readonly cluster: { readonly nodes: readonly RedisNodeAddress[] } };

export type RedisSettings = RedisEndpointSettings & {
  /** Prepended to every key; never contains a hash tag. */
  readonly prefix: string;
  readonly username?: string;
  readonly password?: SecretReference;
  /** TLS to the data nodes: a CA bundle file and a server name to verify, both optional. */
  readonly tls?: { readonly caFile?: string; readonly servername?: string };
  /** Database number (not with a cluster). */
  readonly db?: number;
  /** Bound on any single Redis command. */
  readonly commandTimeoutMs: number;
  /**
   * How stale this replica's mirror of agent statuses may be before it stops trusting it and refuses to
   * mint (503); also bounds how long a suspension at another replica takes to reach the mirror.
   */
  readonly propagationWindowMs: number;
  /**
   * Suspensions, reinstatements and revocations wait (Redis WAIT) until this many replicas hold them, at
   * most `timeoutMs`; with fewer acknowledgements the action answers 503. Not with a cluster.
   */
  readonly replicaAcks?: { readonly replicas: number; readonly timeoutMs: number };
};

export interface BrokerConfig {
  readonly mode: BrokerMode;
  /** The broker's issuer identifier: base URL, identical to `iss` in every minted token. */
  readonly issuer: string;
  readonly host: string;
  readonly port: number;
  readonly trustedIssuers: readonly TrustedIssuer[];
  /** Maximum number of actors in a delegation chain, including the current agent. */
  readonly maxDelegationDepth: number;
  /** Allowed clock skew when checking the time claims of incoming tokens. */
  readonly clockSkewSeconds: number;
  /** How long to wait for an issuer's discovery document or JWKS before failing closed. */
  readonly upstreamTimeoutMs: number;
  /** Largest discovery/JWKS body read from a trusted issuer, in bytes (default 256 KiB); more = issuer_unavailable. */
  readonly upstreamMaxBytes?: number;
  /** Most keys accepted in a trusted issuer's key set (default 100); more = issuer_unavailable. */
  readonly upstreamMaxKeys?: number;
  /** Verified subject/actor tokens remembered until their `exp` or a key-set refetch; 0 disables. Default 10,000. */
  readonly verifiedTokenCacheEntries?: number;
  readonly catalogDir: string;
  readonly clientsDir: string;
  readonly keysDir: string;
  readonly attribution: {
    readonly file: string;
    /** `file` (default) or `redis`: a Redis Stream per replica, for several replicas. */
    readonly sink?: 'file' | 'redis';
    /** This replica's chain name in the Redis sink (stable across restarts, unique among replicas); default `<hostname>-<port>`. */
    readonly replica?: string;
    /** Pseudonymise users (HMAC-SHA256 of iss + sub) before records are chained. */
    readonly redactUsers?: 'none' | 'hash';
    /** A file holding the HMAC key (at least 16 bytes) for `redactUsers: hash`. */
    readonly redactionKeyFile?: string;
    /** Group-commit batching window (absent = none: a batch is what arrived during the previous write). */
    readonly batchWindowMs?: number;
    /** File sink rotation (absent = never rotate): by size and/or by the age of the file's first line. */
    readonly rotate?: { readonly maxBytes?: number; readonly maxAgeSeconds?: number };
    /** Unauthenticated denials from one address are recorded as one aggregate per interval (absent: 10 s). */
    readonly unauthenticatedIntervalMs?: number;
    /** File sink: below this many free bytes on its disk /readyz is 503 and a warning is logged (absent: no check). */
    readonly minFreeBytes?: number;
  };
  readonly limits: RequestLimits;
  /** Person sign-in (console): the identity provider and roles claim (src/sign-in/sign-in-config.ts). */
  readonly signIn?: SignInSettings;
  /** Only in development mode: run the development identity provider on this port. */
  readonly devIdentityProvider?: { readonly port: number };
  /** Shared state for several replicas; absent = in memory (one process only). */
  readonly redis?: RedisSettings;
  /**
   * Admin API credentials: an id (recorded as who acted), the keyed hash of the key (`hmac-sha256$…`, from
   * `broker admin-key`) and a role (`viewer` reads, `operator` also acts; absent = operator).
   */
  readonly adminKeys: readonly { readonly id: string; readonly hash: string; readonly role?: 'viewer' | 'operator' }[];
  /**
   * Credentials for downstream services (introspection and the revocation feed): a keyed hash like admin keys
   * (Bearer, or HTTP Basic with id and secret), and/or public `jwks` for private_key_jwt; `resources`
   * (canonical identifiers of catalog tools) limits which tools' tokens it may introspect (absent = all).
   */
  readonly validatorKeys: readonly {
    readonly id: string;
    readonly hash?: string;
    readonly jwks?: { readonly keys: readonly JWK[] };
    readonly resources?: readonly string[];
  }[];
  /** Agent-secret checks: the hash gate and the failure throttle (src/auth/); absent = the defaults. */
  readonly secretChecks?: {
    readonly concurrency?: number;
    readonly maxQueued?: number;
    readonly ratePerSecond?: number;
    readonly burst?: number;
    readonly perAddress?: { readonly limit: number; readonly windowMs: number };
    readonly perClient?: { readonly limit: number; readonly windowMs: number };
  };
  /** Exchange rate limits (sliding windows in the shared state); absent = no limit. */
  readonly rateLimits?: {
    readonly perAgent?: { readonly limit: number; readonly windowMs: number };
    readonly perAgentTool?: { readonly limit: number; readonly windowMs: number };
    /** Every token request per caller address, counted before client authentication. */
    readonly perSource?: { readonly limit: number; readonly windowMs: number };
  };
  /** Issue 19: a separate, key-less metrics listener (`metrics:`); absent = `/metrics` on the broker's port only. */
  readonly metricsListener?: { readonly host: string; readonly port: number };
  /** Issue 19: OTLP/HTTP trace export (`tracing:`); absent = tracing off. */
  readonly tracing?: { readonly endpoint: string; readonly serviceName?: string };
  /** Issue 19: reload scopes/ and clients/ when they change (`reload.watch`); SIGHUP always reloads. */
  readonly reloadWatch?: boolean;
  /** Triggers that suspend an agent automatically; only a person reinstates it. Absent = off. */
  readonly killSwitch?: {
    readonly rateLimitHits?: { readonly count: number; readonly windowMs: number };
    readonly denialRatio?: { readonly ratio: number; readonly minRequests: number; readonly windowMs: number };
    readonly distinctUsers?: { readonly max: number; readonly windowMs: number };
  };
  /** Revocation-feed subscription caps per replica (defaults in revocation/feed/feed-hub.ts). */
  readonly revocationFeed?: { readonly maxSubscribers?: number; readonly maxPerKey?: number };
  /** `/revoke` calls per agent per window (default 60 per minute, revocation/revocation-guard.ts). */
  readonly revokeRateLimit?: { readonly limit: number; readonly windowMs: number };
  /** Issue 18: `approvals:` (src/config/sections/approvals.ts); the webhook secret by its variable's name only. */
  readonly approvals?: {
    readonly pollIntervalSeconds?: number;
    readonly defaultLifetimeSeconds?: number;
    readonly webhookUrl?: string;
    readonly webhookSecretEnv: string;
    readonly webhookTimeoutMs?: number;
  };
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}
