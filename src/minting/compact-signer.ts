/**
 * A JWS compact signer for the broker's own ES256 key on node:crypto's synchronous `sign`.
 * WebCrypto's asynchronous ECDSA (what jose uses) costs a thread-pool round trip per token; the
 * synchronous primitive with a pre-imported KeyObject and a pre-encoded protected header is about
 * three times cheaper on the token endpoint's hot path. Output is an ordinary JWS: every verifier,
 * jose included, reads it (the minting tests verify it with jose against the published JWKS).
 */
import { createPrivateKey, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

export interface CompactSigner {
  readonly alg: 'ES256';
  readonly kid: string;
  /** Signs `payload` under a fixed protected header `{alg, kid, typ}`. */
  sign(payload: Readonly<Record<string, unknown>>): string;
}

export function createCompactSigner(privateJwk: JWK, typ: string): CompactSigner {
  if (privateJwk.kty !== 'EC' || privateJwk.crv !== 'P-256' || typeof privateJwk.d !== 'string' || typeof privateJwk.kid !== 'string') {
    throw new Error('the compact signer needs an EC P-256 private JWK with a kid');
  }
  const kid = privateJwk.kid;
  const key: KeyObject = createPrivateKey({ key: privateJwk as JsonWebKey, format: 'jwk' });
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid, typ })).toString('base64url');
  return {
    alg: 'ES256',
    kid,
    sign(payload) {
      const input = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
      // ieee-p1363: the fixed-width r||s form JWS requires (RFC 7518 §3.4), not DER.
      const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
      return `${input}.${signature.toString('base64url')}`;
    },
  };
}
