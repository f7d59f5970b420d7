/**
 * Verifies a compact JWS signature (RFC 7515 §5.2) with node:crypto's synchronous `verify` against a key
 * set's public KeyObjects, imported once per JWK. No WebCrypto round trip: this runs on every token request
 * that authenticates with private_key_jwt. Key selection follows RFC 7517 §4: the key type and curve the
 * algorithm needs, the `kid` when the header names one, a key's own `alg`, `use` and `key_ops` when present.
 */
import { constants, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

interface AlgSpec {
  readonly kty: 'EC' | 'RSA' | 'OKP';
  readonly curves?: readonly string[];
  readonly hash: string | null;
  readonly options: { readonly dsaEncoding?: 'ieee-p1363'; readonly padding?: number; readonly saltLength?: number };
}

/** RFC 7518 §3 (and RFC 8037 §3.1 for EdDSA). */
const ALGS: Readonly<Record<string, AlgSpec>> = {
  ES256: { kty: 'EC', curves: ['P-256'], hash: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  ES384: { kty: 'EC', curves: ['P-384'], hash: 'sha384', options: { dsaEncoding: 'ieee-p1363' } },
  RS256: { kty: 'RSA', hash: 'sha256', options: { padding: constants.RSA_PKCS1_PADDING } },
  PS256: { kty: 'RSA', hash: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } },
  EdDSA: { kty: 'OKP', curves: ['Ed25519', 'Ed448'], hash: null, options: {} },
};

/** RFC 7518 §3.3 / §3.5: RSA keys of 2048 bits or more. */
const MIN_RSA_BITS = 2048;

const imported = new WeakMap<JWK, KeyObject | null>();

function keyObject(jwk: JWK): KeyObject | null {
  let key = imported.get(jwk);
  if (key === undefined) {
    try {
      // Public members only: a registered JWK never needs its private part here.
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
      key = createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' });
      if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) key = null;
    } catch {
      key = null;
    }
    imported.set(jwk, key);
  }
  return key;
}

function candidate(jwk: JWK, alg: string, spec: AlgSpec, kid: unknown): boolean {
  if (jwk.kty !== spec.kty) return false;
  if (spec.curves && !spec.curves.includes(jwk.crv ?? '')) return false;
  if (kid !== undefined && jwk.kid !== kid) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) return false;
  return true;
}

/**
 * Whether `signature` (base64url) over `signingInput` verifies under `alg` with one of `keys`. Only the
 * algorithms in `allowed` are considered; an unknown or disallowed algorithm never verifies.
 */
export function verifyJwsSignature(
  alg: unknown, kid: unknown, signingInput: string, signature: string, keys: readonly JWK[], allowed: readonly string[],
): boolean {
  if (typeof alg !== 'string' || !allowed.includes(alg)) return false;
  const spec = ALGS[alg];
  if (!spec) return false;
  const data = Buffer.from(signingInput);
  const sig = Buffer.from(signature, 'base64url');
  for (const jwk of keys) {
    if (!candidate(jwk, alg, spec, kid)) continue;
    const key = keyObject(jwk);
    if (!key) continue;
    try {
      if (verify(spec.hash, data, { key, ...spec.options }, sig)) return true;
    } catch {
      // A signature of the wrong length or shape simply does not verify.
    }
  }
  return false;
}
