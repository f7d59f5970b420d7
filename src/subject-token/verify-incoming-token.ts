/**
 * Validation of the tokens an agent presents: the user's `subject_token` and the optional `actor_token`.
 * Exact issuer match against the trusted list, signature with the issuer's keys and allowed algorithms,
 * `exp` required, `nbf`/`iat` checked, audience, `typ`, maximum age. Every failure becomes a stable reason;
 * an issuer whose keys cannot be fetched fails closed as `issuer_unavailable`.
 */
import { createHash } from 'node:crypto';
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { TrustedIssuer } from '../domain/broker-config.js';
import type { ActorClaims, SubjectClaims } from '../domain/exchange.js';
import { readConfirmation } from '../exchange/key-binding.js';
import { parseStrictJwt } from '../jwt/strict-compact.js';
import { deny, type Denial, type DenialReason } from '../exchange/reasons.js';
import { IssuerUnavailableError, type IssuerKeys, type TrustedIssuers } from './issuer-keys.js';
import { VerifiedTokenCache } from './verified-token-cache.js';
import { verifyJwtWithNodeCrypto } from './node-verify.js';

export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

type Role = 'subject' | 'actor';

const REASONS: Record<Role, Record<'invalid' | 'expired' | 'untrusted' | 'audience' | 'type' | 'nosub', DenialReason>> = {
  subject: {
    invalid: 'subject_token_invalid',
    expired: 'subject_token_expired',
    untrusted: 'subject_token_untrusted_issuer',
    audience: 'subject_token_wrong_audience',
    type: 'subject_token_wrong_type',
    nosub: 'subject_token_no_subject',
  },
  actor: {
    invalid: 'actor_token_invalid',
    expired: 'actor_token_invalid',
    untrusted: 'actor_token_invalid',
    audience: 'actor_token_invalid',
    type: 'actor_token_invalid',
    nosub: 'actor_token_invalid',
  },
};

const ID_TOKEN_MARKERS = ['nonce', 'at_hash', 'c_hash', 's_hash'] as const;

/** `typ` compared as a media type: case-insensitive, "application/" optional (RFC 7515 §4.1.9). */
function normaliseTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

export function scopesFromClaim(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter((s) => s.length > 0);
  if (Array.isArray(value) && value.every((s): s is string => typeof s === 'string')) return value.filter((s) => s.length > 0);
  return [];
}

interface Verified {
  readonly payload: JWTPayload;
  readonly issuer: TrustedIssuer;
  readonly keys: IssuerKeys;
  /** The issuer's key-set generation noted before verifying (undefined: none yet, or stale). */
  readonly verifiedUnder: number | undefined;
}

export interface IncomingTokenVerifierOptions {
  readonly clockSkewSeconds: number;
  /** Verified tokens remembered (see verified-token-cache.ts); 0 verifies every token in full. */
  readonly verifiedTokenCacheEntries?: number;
}

export const DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES = 10_000;

export interface IncomingTokenVerifier {
  verifySubject(token: string, nowMs: number): Promise<SubjectClaims | Denial>;
  verifyActor(token: string, nowMs: number): Promise<ActorClaims | Denial>;
}

export function createIncomingTokenVerifier(issuers: TrustedIssuers, opts: IncomingTokenVerifierOptions): IncomingTokenVerifier {
  const cache = new VerifiedTokenCache<Verified>({
    maxEntries: opts.verifiedTokenCacheEntries ?? DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES,
    clockSkewSeconds: opts.clockSkewSeconds,
  });

  /** A full verification, or a remembered one while its key set and time claims still hold. */
  async function verify(token: string, role: Role, nowMs: number, fingerprint: string): Promise<Verified | Denial> {
    const key = `${role}:${fingerprint}`;
    const remembered = cache.get(key, nowMs, (v) => v.keys.generation());
    if (remembered) return remembered;
    const result = await verifyFully(token, role, nowMs);
    // Remembered only if no key-set refetch happened while it was being verified.
    if (!('decision' in result) && result.verifiedUnder !== undefined && result.keys.generation() === result.verifiedUnder) {
      cache.set(key, { value: result, payload: result.payload, generation: result.verifiedUnder, maxTokenAgeSeconds: result.issuer.maxTokenAgeSeconds });
    }
    return result;
  }

  async function verifyFully(token: string, role: Role, nowMs: number): Promise<Verified | Denial> {
    const reasons = REASONS[role];
    const what = role === 'subject' ? 'subject_token' : 'actor_token';
    // Strictly, before jose reads anything (src/jwt/strict-compact.ts); a future iat is the invalid reason,
    // as jose's own iat check reports it when the issuer bounds the token age.
    const strict = parseStrictJwt(token, { nowMs, clockSkewSeconds: opts.clockSkewSeconds });
    if (!strict.ok) return deny(reasons.invalid, `${what} ${strict.description}`);
    const unverifiedIss = strict.payload.iss;
    const typ = strict.header.typ;
    const keys = typeof unverifiedIss === 'string' ? issuers.get(unverifiedIss) : undefined;
    if (!keys || (role === 'actor' && !keys.issuer.issuesActorTokens)) {
      return deny(reasons.untrusted, `${what} is not from a trusted issuer`);
    }
    const { issuer } = keys;
    const verifiedUnder = keys.generation();
    if (typeof typ !== 'string' || !issuer.tokenTypes.some((t) => normaliseTyp(t) === normaliseTyp(typ))) {
      return deny(reasons.type, `${what} has an unacceptable type (typ header)`);
    }
    let payload: JWTPayload;
    try {
      const resolver = await keys.resolver();
      const options = {
        issuer: issuer.issuer,
        audience: [...issuer.audiences],
        algorithms: [...issuer.algorithms],
        clockTolerance: opts.clockSkewSeconds,
        currentDate: new Date(nowMs),
        requiredClaims: ['exp', 'sub'],
        ...(issuer.maxTokenAgeSeconds !== undefined ? { maxTokenAge: issuer.maxTokenAgeSeconds } : {}),
      };
      // The signature on node:crypto for ES256 / RS256, everything else as jose checks it (node-verify.ts).
      payload = await verifyJwtWithNodeCrypto(strict, resolver, options, async () => (await jwtVerify(token, resolver, options)).payload);
    } catch (err) {
      return denialFor(err, role, what);
    }
    if (ID_TOKEN_MARKERS.some((claim) => claim in payload)) {
      return deny(reasons.type, `${what} is an ID token, not an access token`);
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) {
      return deny(reasons.nosub, `${what} has no subject`);
    }
    return { payload, issuer, keys, verifiedUnder };
  }

  return {
    async verifySubject(token, nowMs) {
      const fingerprint = tokenFingerprint(token);
      const result = await verify(token, 'subject', nowMs, fingerprint);
      if ('decision' in result) return result;
      const { payload, issuer } = result;
      const confirmation = readConfirmation(payload.cnf);
      return {
        iss: issuer.issuer,
        sub: payload.sub as string,
        exp: payload.exp as number,
        ...(typeof payload.iat === 'number' ? { iat: payload.iat } : {}),
        scopes: scopesFromClaim(payload[issuer.scopeClaim]),
        ...(payload.act !== undefined ? { act: payload.act } : {}),
        ...(payload.may_act !== undefined ? { mayAct: payload.may_act } : {}),
        ...(confirmation ? { confirmation } : {}),
        fingerprint,
      };
    },
    async verifyActor(token, nowMs) {
      const fingerprint = tokenFingerprint(token);
      const result = await verify(token, 'actor', nowMs, fingerprint);
      if ('decision' in result) return result;
      const { payload, issuer } = result;
      const confirmation = readConfirmation(payload.cnf);
      return { iss: issuer.issuer, sub: payload.sub as string, exp: payload.exp as number, ...(confirmation ? { confirmation } : {}), fingerprint };
    },
  };
}

function denialFor(err: unknown, role: Role, what: string): Denial {
  const reasons = REASONS[role];
  if (err instanceof IssuerUnavailableError || err instanceof joseErrors.JWKSTimeout || isFetchFailure(err)) {
    return deny('issuer_unavailable', `the issuer of the ${what} cannot be reached; try again later`);
  }
  // JWTExpired covers both `exp` in the past and `iat` older than the issuer's maximum token age.
  if (err instanceof joseErrors.JWTExpired) return deny(reasons.expired, `${what} has expired or is too old`);
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return deny(reasons.audience, `${what} is not intended for this broker (aud)`);
    return deny(reasons.invalid, `${what} failed the ${err.claim} check`);
  }
  return deny(reasons.invalid, `${what} signature or format is invalid`);
}

/** Network-level failures while fetching the JWKS (not a bad token): connection refused, non-200, bad JSON. */
function isFetchFailure(err: unknown): boolean {
  if (err instanceof joseErrors.JWKSInvalid) return true;
  if (err instanceof joseErrors.JOSEError && err.code === 'ERR_JOSE_GENERIC') return true;
  return err instanceof TypeError || (err instanceof Error && err.name === 'AbortError');
}
