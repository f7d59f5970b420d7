/**
 * Validation of broker tokens at a downstream service (RFC 9068 §4, RFC 6750): the token only from the
 * Authorization header, signature with the broker's keys (JWKS from its metadata, cached, rotation-aware),
 * exact `iss`, `aud` containing this tool, `typ: at+jwt`, an algorithm allow-list, `exp` with a small
 * leeway, revocation status from the broker's feed (local, fail closed when stale) and an actor policy.
 * DPoP-bound tokens (`cnf.jkt`, RFC 9449 §7) only with the `DPoP` scheme and a fresh, single-use proof by
 * the bound key for this very request (method, URL, `ath`); never as a bearer token.
 * The service then applies its own permissions for the user in `sub`.
 */
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { canonicalResource } from '../../domain/resource.js';
import { dpopHeaderFromValues } from '../../dpop/dpop-header.js';
import { DPOP_ALGORITHMS, DPOP_MAX_AGE_SECONDS, dpopReplayWindowMs, verifyDpopProof } from '../../dpop/verify-dpop-proof.js';
import { parseStrictJwt } from '../../jwt/strict-compact.js';
import { RevocationFollower } from './revocation-follower.js';
import { ReplayCache, type ClaimResult, type DpopReplayStore } from './replay-cache.js';
import { TokenValidationError, type ChallengeScheme } from './errors.js';
import { assertEndpointsAtIssuer } from '../same-origin.js';

export interface DpopValidationOptions {
  /** Accept only DPoP-bound tokens (default false: unbound bearer tokens are accepted too; bound ones never as bearer). */
  readonly required?: boolean;
  /**
   * This service's public base URL as clients address it (scheme, host, port, path prefix), e.g. behind a
   * proxy `https://crm.example.com/api`: proofs' `htu` is checked against it plus the request path.
   * Without it the Koa middleware uses the URL the request arrived on.
   */
  readonly publicBaseUrl?: string;
  /** How old a proof's `iat` may be (default 60 s, plus the clock tolerance). */
  readonly maxAgeSeconds?: number;
  /** Accepted proof algorithms (default ES256, ES384, EdDSA, Ed25519, PS256, RS256). */
  readonly algorithms?: readonly string[];
  /** Bound on remembered proof `jti`s (default 100,000); when full of live entries, requests get 503. */
  readonly replayCacheSize?: number;
  /**
   * Bound on one proof key's remembered `jti`s (default a tenth of `replayCacheSize`): a key with that many
   * proofs inside the replay window gets 429 until they age out, and cannot fill the cache for other clients.
   */
  readonly replayCachePerKey?: number;
  /**
   * Share the replay state between the replicas of this service (e.g. `redisReplayStore(redis)`), so a proof
   * used at one replica is refused at every other; replaces the in-memory cache (and its two bounds). When the
   * store fails, requests with a proof get 503.
   */
  readonly replayStore?: DpopReplayStore;
}

/** The parts of the HTTP request DPoP binds a proof to. */
export interface RequestContext {
  readonly method: string;
  /** The request URL: absolute, or a path (`/accounts/A?x=1`) resolved against `dpop.publicBaseUrl`. */
  readonly url: string;
  /** The `DPoP` header: every value received (several = refused), or one string. */
  readonly dpop?: string | readonly string[];
}

export interface ValidatorOptions {
  /** The broker's issuer identifier. */
  readonly issuer: string;
  /** This tool's registered resource identifier: tokens must carry it in `aud`. */
  readonly resource: string;
  readonly algorithms?: readonly string[];
  /** Leeway on `exp`/`nbf`/`iat`, seconds (default 5). */
  readonly clockToleranceSeconds?: number;
  /**
   * Follow the revocation feed with this validator key (`<id>.<secret>`); `false` only for tests and demos.
   * `feedUrl`: the feed's server-sent-events URL (default: the metadata's `revocation_feed_endpoint`, else
   * `<issuer>/revocations/stream`). `graceMs` (default 3000): how long after the last snapshot-backed event
   * validation keeps answering; the broker sends a heartbeat every second, so after losing the feed tokens
   * are refused (503) within 1 s + grace. `snapshotTimeoutMs` (default 30 s): how long `create()` waits for
   * a complete snapshot before it fails (closed).
   */
  readonly revocation: { readonly key: string; readonly graceMs?: number; readonly feedUrl?: string; readonly snapshotTimeoutMs?: number } | false;
  /** Actor policy: which agents may act here, how deep a delegation chain may be, whether `act` is required. */
  readonly actors?: { readonly allowed?: readonly string[]; readonly maxDepth?: number; readonly required?: boolean };
  /** Override where keys and the feed are found (default: from the broker's metadata). */
  readonly jwksUri?: string;
  readonly fetchTimeoutMs?: number;
  /** DPoP (RFC 9449) at this service. */
  readonly dpop?: DpopValidationOptions;
}

export interface ValidatedToken {
  readonly sub: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** The actor chain, outermost (the agent calling now) first. */
  readonly actors: readonly string[];
  readonly tool?: string;
  readonly exp: number;
  readonly jti: string;
  /** For a DPoP-bound token: the thumbprint of the key that proved possession (`cnf.jkt`). */
  readonly dpopJkt?: string;
  readonly claims: JWTPayload;
  /** Issue 18: for a single-use approved token (`approval_id`) only, the token itself: ActionGuard reports its use with it. */
  readonly compact?: string;
}

/** How long validation goes on after the last snapshot-backed feed event (heartbeats come every second). */
export const DEFAULT_REVOCATION_GRACE_MS = 3000;

interface ServerMetadata { issuer?: unknown; jwks_uri?: unknown; revocation_feed_endpoint?: unknown }

function actorsOf(act: unknown): string[] | undefined {
  const actors: string[] = [];
  let current = act;
  while (current !== undefined) {
    if (typeof current !== 'object' || current === null || typeof (current as { sub?: unknown }).sub !== 'string') return undefined;
    actors.push((current as { sub: string }).sub);
    if (actors.length > 32) return undefined;
    current = (current as { act?: unknown }).act;
  }
  return actors;
}

function boundJkt(payload: JWTPayload): string | undefined {
  const cnf = payload.cnf;
  if (typeof cnf !== 'object' || cnf === null) return undefined;
  const jkt = (cnf as { jkt?: unknown }).jkt;
  return typeof jkt === 'string' ? jkt : undefined;
}

export class TokenValidator {
  readonly #replays: ReplayCache;
  readonly #replayStore: DpopReplayStore | undefined;

  private constructor(
    private readonly opts: ValidatorOptions,
    private readonly keys: JWTVerifyGetKey,
    private readonly follower: RevocationFollower | undefined,
  ) {
    const dpop = opts.dpop ?? {};
    const size = dpop.replayCacheSize ?? 100_000;
    this.#replays = new ReplayCache(dpopReplayWindowMs(dpop.maxAgeSeconds ?? DPOP_MAX_AGE_SECONDS, this.#tolerance), size, dpop.replayCachePerKey ?? Math.max(1, Math.ceil(size / 10)));
    this.#replayStore = dpop.replayStore;
  }

  get #tolerance(): number {
    return this.opts.clockToleranceSeconds ?? 5;
  }

  /** DPoP proof algorithms accepted here (the `algs` of a DPoP challenge). */
  get dpopAlgorithms(): readonly string[] {
    return this.opts.dpop?.algorithms ?? DPOP_ALGORITHMS;
  }

  /** Whether this service configured a public base URL (the Koa middleware then passes request paths). */
  get publicBaseUrl(): string | undefined {
    return this.opts.dpop?.publicBaseUrl;
  }

  /** Reads the broker's metadata, prepares its JWKS and (unless disabled) starts following revocations. */
  static async create(opts: ValidatorOptions): Promise<TokenValidator> {
    const timeout = opts.fetchTimeoutMs ?? 3000;
    const res = await fetch(`${opts.issuer}/.well-known/oauth-authorization-server`, { signal: AbortSignal.timeout(timeout), redirect: 'error' });
    if (!res.ok) throw new Error(`broker metadata: HTTP ${res.status}`);
    const meta = await res.json() as ServerMetadata;
    if (meta.issuer !== opts.issuer) throw new Error('broker metadata names another issuer');
    // Keys and the revocation feed only from the issuer's origin (src/sdk/same-origin.ts); a configured `jwksUri` is the operator's choice.
    assertEndpointsAtIssuer(opts.issuer, meta as Readonly<Record<string, unknown>>);
    const jwksUri = opts.jwksUri ?? (typeof meta.jwks_uri === 'string' ? meta.jwks_uri : undefined);
    if (!jwksUri) throw new Error('broker metadata has no jwks_uri');
    const keys = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: timeout, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
    let follower: RevocationFollower | undefined;
    if (opts.revocation) {
      const streamUrl = opts.revocation.feedUrl ?? (typeof meta.revocation_feed_endpoint === 'string' ? meta.revocation_feed_endpoint : `${opts.issuer}/revocations/stream`);
      follower = new RevocationFollower({ streamUrl, key: opts.revocation.key, graceMs: opts.revocation.graceMs ?? DEFAULT_REVOCATION_GRACE_MS });
      // Never serve without a complete snapshot: bounded wait, then fail (closed).
      await follower.start(opts.revocation.snapshotTimeoutMs ?? 30_000);
    }
    return new TokenValidator(opts, keys, follower);
  }

  /**
   * Validates the `Authorization` header of a request and, for the DPoP scheme, its proof (`request`: the
   * method, URL and `DPoP` header; without it a DPoP-bound token is refused). Throws TokenValidationError.
   */
  async validate(authorization: string | undefined, request?: RequestContext): Promise<ValidatedToken> {
    const requiredScheme: ChallengeScheme = this.opts.dpop?.required ? 'DPoP' : 'Bearer';
    if (authorization === undefined || authorization === '') throw new TokenValidationError(401, 'invalid_request', 'no token', undefined, requiredScheme);
    const match = /^(Bearer|DPoP) ([A-Za-z0-9\-._~+/]+=*)$/iu.exec(authorization);
    if (!match?.[1] || !match[2]) {
      throw new TokenValidationError(401, 'invalid_request', 'the Authorization header must be "Bearer <token>" or "DPoP <token>"', undefined, requiredScheme);
    }
    const scheme: ChallengeScheme = match[1].toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
    const refuse = (status: 401 | 503, code: 'invalid_token' | 'invalid_dpop_proof' | 'temporarily_unavailable', description: string, as: ChallengeScheme = scheme) =>
      new TokenValidationError(status, code, description, undefined, as);
    const token = match[2];
    if (token.length > 16_384) throw refuse(401, 'invalid_token', 'token too large');
    // Strictly, before jose reads it (src/jwt/strict-compact.ts): one spelling per token, no duplicate claims.
    const strict = parseStrictJwt(token, { nowMs: Date.now(), clockSkewSeconds: this.#tolerance });
    if (!strict.ok) throw refuse(401, 'invalid_token', `the token ${strict.description}`);

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        issuer: this.opts.issuer,
        // The broker puts the tool's canonical resource identifier in `aud`; match any spelling of ours.
        audience: canonicalResource(this.opts.resource) ?? this.opts.resource,
        typ: 'at+jwt',
        algorithms: [...(this.opts.algorithms ?? ['ES256'])],
        clockTolerance: this.opts.clockToleranceSeconds ?? 5,
        requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWKSTimeout || (err instanceof joseErrors.JOSEError && err.code === 'ERR_JOSE_GENERIC') || err instanceof TypeError) {
        throw refuse(503, 'temporarily_unavailable', 'the broker keys cannot be fetched');
      }
      throw refuse(401, 'invalid_token', err instanceof joseErrors.JWTExpired ? 'the token has expired' : 'the token is not valid for this tool');
    }

    const jkt = boundJkt(payload);
    let proofJti: string | undefined;
    if (scheme === 'Bearer') {
      // RFC 9449 §7.2: a DPoP-bound token presented as a bearer token is refused (a stolen token is useless without the key).
      if (payload.cnf !== undefined) throw refuse(401, 'invalid_token', 'a DPoP-bound token must be sent with the DPoP scheme and a proof', 'DPoP');
      if (this.opts.dpop?.required) throw refuse(401, 'invalid_token', 'this tool accepts only DPoP-bound tokens', 'DPoP');
    } else {
      if (jkt === undefined) throw refuse(401, 'invalid_token', 'the token is not DPoP-bound');
      proofJti = await this.#checkProof(token, jkt, request);
    }

    const actors = actorsOf(payload.act);
    if (actors === undefined) throw refuse(401, 'invalid_token', 'malformed act claim');
    const policy = this.opts.actors;
    if (policy?.required && actors.length === 0) throw refuse(401, 'invalid_token', 'an acting agent is required');
    if (policy?.maxDepth !== undefined && actors.length > policy.maxDepth) throw refuse(401, 'invalid_token', 'delegation chain too deep');
    if (policy?.allowed && actors[0] !== undefined && !policy.allowed.includes(actors[0])) throw refuse(401, 'invalid_token', 'this agent may not act here');

    if (this.follower) {
      let revoked: boolean;
      try {
        revoked = this.follower.isRevoked(payload);
      } catch {
        throw refuse(503, 'temporarily_unavailable', 'revocation status unknown');
      }
      if (revoked) throw refuse(401, 'invalid_token', 'the token has been revoked');
    }

    // Last, once everything else holds: each proof is good for one request.
    if (proofJti !== undefined && jkt !== undefined) {
      const claimed = await this.#claimProof(jkt, createHash('sha256').update(proofJti).digest('base64url'), scheme);
      if (claimed === 'replayed') throw refuse(401, 'invalid_dpop_proof', 'the DPoP proof has already been used');
      if (claimed === 'owner_full') {
        throw new TokenValidationError(429, 'temporarily_unavailable', 'too many DPoP proofs by this key; retry later', undefined, scheme, Math.ceil(this.#replays.ttl / 1000));
      }
      if (claimed === 'full') {
        throw new TokenValidationError(503, 'temporarily_unavailable', 'the DPoP replay cache is full', undefined, scheme, Math.max(1, Math.ceil(this.#replays.msUntilRoom() / 1000)));
      }
    }

    return {
      sub: payload.sub as string,
      clientId: String(payload.client_id),
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      actors,
      ...(typeof payload.tool === 'string' ? { tool: payload.tool } : {}),
      exp: payload.exp as number,
      jti: payload.jti as string,
      ...(scheme === 'DPoP' && jkt !== undefined ? { dpopJkt: jkt } : {}),
      claims: payload,
      ...(payload.approval_id !== undefined ? { compact: token } : {}),
    };
  }

  /** The proof for a DPoP-scheme request: one header, valid for this method, URL and token, by the bound key. Returns its jti. */
  async #checkProof(token: string, jkt: string, request: RequestContext | undefined): Promise<string> {
    const invalid = (description: string) => new TokenValidationError(401, 'invalid_dpop_proof', description, undefined, 'DPoP');
    const header = dpopHeaderFromValues(request?.dpop);
    if (header.kind === 'none' || request === undefined) throw invalid('a DPoP proof is required with a DPoP-bound token');
    if (header.kind === 'several') throw invalid('exactly one DPoP header is allowed');
    const result = await verifyDpopProof(header.value, {
      method: request.method.toUpperCase(),
      url: this.#absoluteUrl(request.url),
      accessToken: token,
      nowMs: Date.now(),
      algorithms: this.dpopAlgorithms,
      maxAgeSeconds: this.opts.dpop?.maxAgeSeconds ?? DPOP_MAX_AGE_SECONDS,
      clockSkewSeconds: this.#tolerance,
    });
    if (!result.ok) throw invalid(result.problem);
    if (result.proof.jkt !== jkt) throw new TokenValidationError(401, 'invalid_token', 'the DPoP proof key does not match the token binding', undefined, 'DPoP');
    return result.proof.jti;
  }

  /** Claims the proof in the shared store when there is one, else in this process's cache; unknown state → 503. */
  async #claimProof(jkt: string, id: string, scheme: ChallengeScheme): Promise<ClaimResult> {
    if (this.#replayStore === undefined) return this.#replays.claim(jkt, id);
    try {
      return await this.#replayStore.claim(jkt, id, this.#replays.ttl);
    } catch {
      throw new TokenValidationError(503, 'temporarily_unavailable', 'the DPoP replay state cannot be reached', undefined, scheme);
    }
  }

  #absoluteUrl(url: string): string {
    if (!url.startsWith('/')) return url;
    const base = this.opts.dpop?.publicBaseUrl;
    if (base === undefined) throw new Error('a request path needs dpop.publicBaseUrl; pass the absolute request URL instead');
    return `${base.replace(/\/+$/u, '')}${url}`;
  }

  close(): void {
    this.follower?.close();
  }
}
