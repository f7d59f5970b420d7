/**
 * A JWT verified as jose's `jwtVerify` does, with the signature checked by node:crypto's synchronous `verify`
 * on a KeyObject instead of WebCrypto (whose asynchronous ECDSA costs a thread-pool round trip per token and
 * was the largest cost of a fresh-token exchange). Everything else stays jose's, so the answers and errors
 * are the same:
 *   - the key is chosen by the issuer's jose key set (kid / alg / kty selection, its errors, its refetches);
 *   - the claims are checked by jose's own claims-set validation (iss, aud, exp, nbf, iat, max age, required
 *     claims: RFC 7519 §4.1, RFC 8725 §3), run through `UnsecuredJWT.decode` on the already verified payload;
 *   - a bad signature throws jose's JWSSignatureVerificationFailed.
 * Only ES256 (RFC 7518 §3.4: P-256, r||s) and RS256 (§3.3: PKCS#1 v1.5, modulus ≥ 2048 bits) take this path,
 * and only a token the strict parser (src/jwt/strict-compact.ts) has read, without `crit`; any other is
 * verified by jose itself (`fallback`).
 */
import type { webcrypto} from 'node:crypto';
import { KeyObject, verify as verifySignature, type VerifyKeyObjectInput } from 'node:crypto';
import { errors, UnsecuredJWT, type JWTHeaderParameters, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';

import type { StrictJws } from '../jwt/strict-compact.js';

interface NodeAlg {
  /** Whether the key the issuer's set resolved is one this algorithm may use (RFC 7518 §3.3, §3.4). */
  readonly usable: (key: KeyObject) => boolean;
  readonly input: (key: KeyObject) => VerifyKeyObjectInput;
}

const NODE_ALGS: Readonly<Record<string, NodeAlg>> = {
  ES256: {
    usable: (key) => key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1',
    input: (key) => ({ key, dsaEncoding: 'ieee-p1363' }),
  },
  RS256: {
    usable: (key) => key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048,
    input: (key) => ({ key }),
  },
};

/** The one place a signature is checked on this path (an object, so tests can count the checks). */
export const nodeSignatures = {
  verify(signingInput: string, signature: string, key: VerifyKeyObjectInput): boolean {
    try {
      return verifySignature('sha256', Buffer.from(signingInput), key, Buffer.from(signature, 'base64url'));
    } catch {
      return false;
    }
  },
};

/** One KeyObject per key of the issuer's set (the CryptoKeys jose resolves live as long as the set does). */
const keyObjects = new WeakMap<object, KeyObject>();

function keyObjectOf(key: unknown): KeyObject | undefined {
  if (typeof key !== 'object' || key === null) return undefined;
  let object = keyObjects.get(key);
  if (object === undefined) {
    try {
      object = KeyObject.from(key as webcrypto.CryptoKey);
    } catch {
      return undefined;
    }
    keyObjects.set(key, object);
  }
  return object;
}

/** `{"alg":"none"}`: the claims of a verified payload handed to jose's claims-set validation unchanged. */
const NONE_HEADER = Buffer.from('{"alg":"none"}').toString('base64url');

export type ClaimsOptions = Pick<JWTVerifyOptions, 'issuer' | 'audience' | 'clockTolerance' | 'currentDate' | 'requiredClaims' | 'maxTokenAge'> & {
  readonly algorithms: readonly string[];
};

export async function verifyJwtWithNodeCrypto(
  jws: StrictJws,
  getKey: JWTVerifyGetKey,
  options: ClaimsOptions,
  fallback: () => Promise<JWTPayload>,
): Promise<JWTPayload> {
  const { header } = jws;
  const alg = header.alg;
  const node = typeof alg === 'string' ? NODE_ALGS[alg] : undefined;
  if (node === undefined || 'crit' in header || 'b64' in header) return fallback();
  if (!options.algorithms.includes(alg as string)) throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  const [protectedHeader, payload] = jws.signingInput.split('.') as [string, string];
  const key = keyObjectOf(await getKey(header as JWTHeaderParameters, { protected: protectedHeader, payload, signature: jws.signature }));
  // As jose refuses a key its algorithm cannot use (a TypeError there too).
  if (key === undefined || key.type !== 'public' || !node.usable(key)) throw new TypeError(`the key for ${String(alg)} is not usable`);
  const valid = nodeSignatures.verify(jws.signingInput, jws.signature, node.input(key));
  if (!valid) throw new errors.JWSSignatureVerificationFailed();
  const { algorithms: _algorithms, ...claims } = options;
  return UnsecuredJWT.decode(`${NONE_HEADER}.${payload}.`, claims).payload;
}
