/**
 * The claims and signature of a private_key_jwt client assertion (RFC 7523 §3, RFC 7521 §4.2), after the
 * strict parse (src/jwt/strict-compact.ts): iss = sub = the client id, `aud` the issuer or the token endpoint
 * (RFC 7523 §3 item 3; never derived from the request's Host), `exp` required and not passed, `nbf` reached,
 * a `jti` (its one use is checked against the shared replay cache by the step), a signature by one of the
 * agent's registered keys with an allowed asymmetric algorithm. Pure (a clock in); the caller answers every
 * refusal as 401 invalid_client (RFC 7523 §3.2).
 */
import type { JWK } from 'jose';
import type { StrictJws } from '../../../jwt/strict-compact.js';
import { verifyJwsSignature } from './verify-jws.js';

/** Algorithms agents may sign client assertions with (asymmetric only). */
export const CLIENT_ASSERTION_ALGS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'] as const;

export interface AssertionExpectations {
  readonly clientId: string;
  /** The audiences accepted: the issuer identifier, the token endpoint URL (and the endpoint called, at /revoke). */
  readonly audiences: readonly string[];
  readonly keys: readonly JWK[];
  readonly nowMs: number;
  readonly clockSkewSeconds: number;
}

export type AssertionCheck = { readonly ok: true; readonly jti: string; readonly exp: number } | { readonly ok: false; readonly problem: string };

function fail(problem: string): AssertionCheck {
  return { ok: false, problem };
}

export function checkClientAssertion(jws: StrictJws, expect: AssertionExpectations): AssertionCheck {
  const { header, payload } = jws;
  if (typeof header.alg !== 'string' || !(CLIENT_ASSERTION_ALGS as readonly string[]).includes(header.alg)) return fail('alg mismatch');
  // RFC 7515 §4.1.11: no extension this server understands, so any `crit` is refused.
  if (header.crit !== undefined) return fail('unsupported crit header');
  const now = Math.floor(expect.nowMs / 1000);
  const skew = expect.clockSkewSeconds;
  const { exp, jti, iss, aud, nbf } = payload;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return fail('expiration must be specified in the client_assertion JWT');
  if (typeof jti !== 'string' || jti === '') return fail('unique jti (JWT ID) must be provided in the client_assertion JWT');
  if (iss !== expect.clientId || payload.sub !== expect.clientId) return fail('iss and sub must be the client_id');
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) && aud.every((a) => typeof a === 'string') ? aud : undefined;
  if (!audiences?.some((a) => expect.audiences.includes(a))) return fail(expect.audiences.length > 2 ? 'audience (aud) must be the issuer identifier, the token endpoint URL or this endpoint\'s URL' : 'audience (aud) must be the issuer identifier or the token endpoint URL');
  if (payload.iat !== undefined && typeof payload.iat !== 'number') return fail('invalid iat value');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + skew)) return fail('the client_assertion is not valid yet');
  if (now - skew >= exp) return fail('the client_assertion has expired');
  if (!verifyJwsSignature(header.alg, header.kid, jws.signingInput, jws.signature, expect.keys, CLIENT_ASSERTION_ALGS)) {
    return fail('the client_assertion signature does not verify with a registered key');
  }
  return { ok: true, jti, exp };
}
