/**
 * Verification of a DPoP proof JWT (RFC 9449 §4.3), shared by the broker's token endpoint and the
 * validation SDK. Pure apart from the signature check: one-time use of the proof's `jti` is the caller's
 * job (the broker claims it in the shared state, the validator in its own replay cache), and so is
 * comparing the key's thumbprint with a token's `cnf.jkt`.
 *   - exactly one compact JWS, bounded size, parsed strictly first (src/jwt/strict-compact.ts: canonical
 *     base64url, no duplicate member names, bounded depth, no future iat); header `typ: dpop+jwt`, an asymmetric `alg` from the allow-list,
 *     an embedded public `jwk` (no private members) that verifies the signature; nothing is fetched;
 *   - `htm` = the request method, `htu` = the request URL (without query and fragment, normalised),
 *     `iat` within the freshness window, `jti` present, `ath` = base64url(SHA-256(access token)) when a
 *     token accompanies the proof.
 */
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import { parseStrictJwt } from '../jwt/strict-compact.js';

/** Asymmetric JWS algorithms accepted for DPoP proofs (RFC 9449 §4.2: never none, never MAC). */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'RS256'] as const;

/** Default freshness: a proof's `iat` may be this old (plus the clock skew), RFC 9449 §11.1. */
export const DPOP_MAX_AGE_SECONDS = 60;
export const MAX_DPOP_PROOF_CHARS = 8192;
const MAX_JTI_CHARS = 256;

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;

export interface DpopCheck {
  /** The HTTP method of the request the proof accompanies. */
  readonly method: string;
  /** The request URL as the server is addressed (absolute). */
  readonly url: string;
  /** The access token sent with the proof (resource requests): `ath` must be its hash. */
  readonly accessToken?: string;
  readonly nowMs: number;
  readonly algorithms?: readonly string[];
  readonly maxAgeSeconds?: number;
  readonly clockSkewSeconds: number;
}

export interface VerifiedDpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof key: `cnf.jkt` of a token bound to it. */
  readonly jkt: string;
  readonly jti: string;
  readonly iat: number;
}

export type DpopResult = { readonly ok: true; readonly proof: VerifiedDpopProof } | { readonly ok: false; readonly problem: string };

const fail = (problem: string): DpopResult => ({ ok: false, problem });

/** `htu` and the request URL are compared without query and fragment, after URL normalisation (RFC 9449 §4.3). */
export function normaliseHtu(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  parsed.search = '';
  parsed.hash = '';
  return parsed.href;
}

/** base64url(SHA-256(access token)): the `ath` claim (RFC 9449 §4.2). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/**
 * How long a proof's `jti` must be remembered: a proof is acceptable while its `iat` lies in
 * [now - maxAge - skew, now + skew], i.e. for at most maxAge + 2 * skew seconds.
 */
export function dpopReplayWindowMs(maxAgeSeconds: number, clockSkewSeconds: number): number {
  return (maxAgeSeconds + 2 * clockSkewSeconds + 1) * 1000;
}

function headerProblem(header: Readonly<Record<string, unknown>>, algorithms: readonly string[]): string | undefined {
  if (header.typ !== 'dpop+jwt') return 'the DPoP proof must have typ "dpop+jwt"';
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
    return `the DPoP proof alg must be one of ${algorithms.join(', ')}`;
  }
  const jwk = header.jwk;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return 'the DPoP proof must carry its public key in the jwk header';
  for (const member of PRIVATE_JWK_MEMBERS) {
    if (Object.hasOwn(jwk, member)) return 'the DPoP proof jwk must be a public key (it contains private key material)';
  }
  const kty = (jwk as { kty?: unknown }).kty;
  if (kty !== 'EC' && kty !== 'OKP' && kty !== 'RSA') return 'the DPoP proof jwk must be an EC, OKP or RSA public key';
  return undefined;
}

export async function verifyDpopProof(proof: string, check: DpopCheck): Promise<DpopResult> {
  if (proof.length > MAX_DPOP_PROOF_CHARS) return fail('the DPoP proof is too large');
  const strict = parseStrictJwt(proof, { nowMs: check.nowMs, clockSkewSeconds: check.clockSkewSeconds });
  if (!strict.ok) return fail(`the DPoP proof ${strict.description}`);
  const algorithms = check.algorithms ?? DPOP_ALGORITHMS;
  const problem = headerProblem(strict.header, algorithms);
  if (problem) return fail(problem);

  let payload;
  let jwk: JWK;
  try {
    const verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...algorithms], currentDate: new Date(check.nowMs), clockTolerance: check.clockSkewSeconds });
    payload = verified.payload;
    jwk = verified.protectedHeader.jwk as JWK;
  } catch {
    return fail('the DPoP proof signature does not verify with its jwk');
  }

  if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > MAX_JTI_CHARS) {
    return fail('the DPoP proof must have a jti');
  }
  if (payload.htm !== check.method) return fail('the DPoP proof htm does not match the request method');
  const expected = normaliseHtu(check.url);
  if (typeof payload.htu !== 'string' || expected === undefined || normaliseHtu(payload.htu) !== expected) {
    return fail('the DPoP proof htu does not match the request URL');
  }
  if (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat)) return fail('the DPoP proof must have a numeric iat');
  const now = check.nowMs / 1000;
  const maxAge = check.maxAgeSeconds ?? DPOP_MAX_AGE_SECONDS;
  if (payload.iat > now + check.clockSkewSeconds) return fail('the DPoP proof iat is in the future');
  if (payload.iat < now - maxAge - check.clockSkewSeconds) return fail('the DPoP proof is too old (iat)');
  if (check.accessToken !== undefined && payload.ath !== accessTokenHash(check.accessToken)) {
    return fail('the DPoP proof ath does not match the access token');
  }
  return { ok: true, proof: { jkt: await calculateJwkThumbprint(jwk, 'sha256'), jti: payload.jti, iat: payload.iat } };
}
