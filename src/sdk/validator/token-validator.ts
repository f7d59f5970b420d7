/**
 * Validation of broker tokens at a downstream service (RFC 9068 §4, RFC 6750): the token only from the
 * Authorization header, signature with the broker's keys (JWKS from its metadata, cached, rotation-aware),
 * exact `iss`, `aud` containing this tool, `typ: at+jwt`, an algorithm allow-list, `exp` with a small
 * leeway, revocation status from the broker's feed (local, fail closed when stale) and an actor policy.
 * The service then applies its own permissions for the user in `sub`.
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { canonicalResource } from '../../domain/resource.js';
import { RevocationFollower } from './revocation-follower.js';
import { TokenValidationError } from './errors.js';

export interface ValidatorOptions {
  /** The broker's issuer identifier. */
  readonly issuer: string;
  /** This tool's registered resource identifier: tokens must carry it in `aud`. */
  readonly resource: string;
  readonly algorithms?: readonly string[];
  /** Leeway on `exp`/`nbf`/`iat`, seconds (default 5). */
  readonly clockToleranceSeconds?: number;
  /** Follow the revocation feed with this validator key (`<id>.<secret>`); `false` only for tests and demos. */
  readonly revocation: { readonly key: string; readonly graceMs?: number } | false;
  /** Actor policy: which agents may act here, how deep a delegation chain may be, whether `act` is required. */
  readonly actors?: { readonly allowed?: readonly string[]; readonly maxDepth?: number; readonly required?: boolean };
  /** Override where keys and the feed are found (default: from the broker's metadata). */
  readonly jwksUri?: string;
  readonly fetchTimeoutMs?: number;
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
  readonly claims: JWTPayload;
}

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

export class TokenValidator {
  private constructor(
    private readonly opts: ValidatorOptions,
    private readonly keys: JWTVerifyGetKey,
    private readonly follower: RevocationFollower | undefined,
  ) {}

  /** Reads the broker's metadata, prepares its JWKS and (unless disabled) starts following revocations. */
  static async create(opts: ValidatorOptions): Promise<TokenValidator> {
    const timeout = opts.fetchTimeoutMs ?? 3000;
    const res = await fetch(`${opts.issuer}/.well-known/oauth-authorization-server`, { signal: AbortSignal.timeout(timeout), redirect: 'error' });
    if (!res.ok) throw new Error(`broker metadata: HTTP ${res.status}`);
    const meta = await res.json() as ServerMetadata;
    if (meta.issuer !== opts.issuer) throw new Error('broker metadata names another issuer');
    const jwksUri = opts.jwksUri ?? (typeof meta.jwks_uri === 'string' ? meta.jwks_uri : undefined);
    if (!jwksUri) throw new Error('broker metadata has no jwks_uri');
    const keys = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: timeout, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
    let follower: RevocationFollower | undefined;
    if (opts.revocation) {
      const streamUrl = typeof meta.revocation_feed_endpoint === 'string' ? meta.revocation_feed_endpoint : `${opts.issuer}/revocations/stream`;
      follower = new RevocationFollower({ streamUrl, key: opts.revocation.key, graceMs: opts.revocation.graceMs ?? 3000 });
      await follower.start(timeout);
    }
    return new TokenValidator(opts, keys, follower);
  }

  /** Validates the `Authorization` header of a request. Throws TokenValidationError. */
  async validate(authorization: string | undefined): Promise<ValidatedToken> {
    if (authorization === undefined || authorization === '') throw new TokenValidationError(401, 'invalid_request', 'no token');
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/u.exec(authorization);
    if (!match?.[1]) throw new TokenValidationError(401, 'invalid_request', 'the Authorization header must be "Bearer <token>"');
    const token = match[1];
    if (token.length > 16_384) throw new TokenValidationError(401, 'invalid_token', 'token too large');

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
        throw new TokenValidationError(503, 'temporarily_unavailable', 'the broker keys cannot be fetched');
      }
      throw new TokenValidationError(401, 'invalid_token', err instanceof joseErrors.JWTExpired ? 'the token has expired' : 'the token is not valid for this tool');
    }

    const actors = actorsOf(payload.act);
    if (actors === undefined) throw new TokenValidationError(401, 'invalid_token', 'malformed act claim');
    const policy = this.opts.actors;
    if (policy?.required && actors.length === 0) throw new TokenValidationError(401, 'invalid_token', 'an acting agent is required');
    if (policy?.maxDepth !== undefined && actors.length > policy.maxDepth) throw new TokenValidationError(401, 'invalid_token', 'delegation chain too deep');
    if (policy?.allowed && actors[0] !== undefined && !policy.allowed.includes(actors[0])) throw new TokenValidationError(401, 'invalid_token', 'this agent may not act here');

    if (this.follower) {
      let revoked: boolean;
      try {
        revoked = this.follower.isRevoked(payload);
      } catch {
        throw new TokenValidationError(503, 'temporarily_unavailable', 'revocation status unknown');
      }
      if (revoked) throw new TokenValidationError(401, 'invalid_token', 'the token has been revoked');
    }

    return {
      sub: payload.sub as string,
      clientId: String(payload.client_id),
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      actors,
      ...(typeof payload.tool === 'string' ? { tool: payload.tool } : {}),
      exp: payload.exp as number,
      jti: payload.jti as string,
      claims: payload,
    };
  }

  close(): void {
    this.follower?.close();
  }
}
