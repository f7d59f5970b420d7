/**
 * Verifies a token this broker minted, with its own keys only (never a key named by the token): exact
 * `iss`, `typ: at+jwt`, ES256, unexpired. Anything else is simply "not an active broker token".
 */
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { parseStrictJwt } from '../jwt/strict-compact.js';
import type { SigningKeys } from '../keys/signing-keys.js';

export function createBrokerTokenVerifier(issuer: string, keys: SigningKeys, clockSkewSeconds: number) {
  const jwks = createLocalJWKSet({
    keys: keys.all.map(({ privateJwk: { kty, crv, x, y, kid, alg } }) => ({ kty, crv, x, y, kid, alg, use: 'sig' })),
  });
  return async function verifyBrokerToken(token: string, nowMs: number): Promise<JWTPayload | undefined> {
    if (token.length === 0 || token.length > 16_384) return undefined;
    // Strictly first (src/jwt/strict-compact.ts): a token the broker minted always passes.
    if (!parseStrictJwt(token, { nowMs, clockSkewSeconds }).ok) return undefined;
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer,
        typ: 'at+jwt',
        algorithms: ['ES256'],
        currentDate: new Date(nowMs),
        clockTolerance: clockSkewSeconds,
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'aud', 'client_id'],
      });
      return payload;
    } catch {
      return undefined;
    }
  };
}
