/**
 * Verifies a token this broker minted, with its own keys only (never a key named by the token): exact
 * `iss`, `typ: at+jwt`, ES256, unexpired. Anything else is simply "not an active broker token".
 */
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { parseStrictJwt } from '../jwt/strict-compact.js';
import type { SigningKeys } from '../keys/signing-keys.js';
import { publicJwks } from '../keys/jwks-route.js';
import { verifyJwtWithNodeCrypto } from '../subject-token/node-verify.js';

function isAccessTokenTyp(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const t = typ.toLowerCase();
  return t === 'at+jwt' || t === 'application/at+jwt';
}

export function createBrokerTokenVerifier(issuer: string, keys: SigningKeys, clockSkewSeconds: number) {
  // The keys published now (key rotation, keys/key-schedule.ts), not those of the start: a token signed by
  // a key no longer published is refused. One local key set per published set.
  type LocalSet = ReturnType<typeof createLocalJWKSet>;
  let memo: { ids: string; jwks: LocalSet } | undefined;
  const jwks = (header: Parameters<LocalSet>[0], token: Parameters<LocalSet>[1]) => {
    const ids = keys.all.map((k) => k.kid).join(' ');
    if (memo?.ids !== ids) memo = { ids, jwks: createLocalJWKSet(publicJwks(keys)) };
    return memo.jwks(header, token);
  };
  return async function verifyBrokerToken(token: string, nowMs: number): Promise<JWTPayload | undefined> {
    if (token.length === 0 || token.length > 16_384) return undefined;
    // Strictly first (src/jwt/strict-compact.ts): a token the broker minted always passes.
    const strict = parseStrictJwt(token, { nowMs, clockSkewSeconds });
    if (!strict.ok) return undefined;
    // RFC 9068 §2.1 / §4: `typ` is `at+jwt` (compared as jose does: case-insensitive, `application/` optional).
    if (!isAccessTokenTyp(strict.header.typ)) return undefined;
    const options = {
      issuer,
      algorithms: ['ES256'],
      currentDate: new Date(nowMs),
      clockTolerance: clockSkewSeconds,
      requiredClaims: ['exp', 'iat', 'jti', 'sub', 'aud', 'client_id'],
    };
    try {
      // The signature on node:crypto (synchronous, no thread-pool round trip), the key chosen and every claim
      // checked by jose (src/subject-token/node-verify.ts); any other header shape goes to jose whole.
      return await verifyJwtWithNodeCrypto(strict, jwks, options, async () => (await jwtVerify(token, jwks, { ...options, typ: 'at+jwt' })).payload);
    } catch {
      return undefined;
    }
  };
}
