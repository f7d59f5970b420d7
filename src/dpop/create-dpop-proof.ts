/** Creating DPoP proofs (RFC 9449 §4.2), for the agent SDK: a fresh `jti`, `htm`, `htu`, `iat`, and `ath` for resource requests. */
import { randomBytes } from 'node:crypto';
import { exportJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { accessTokenHash } from './verify-dpop-proof.js';

export interface DpopKeyPair { readonly privateKey: CryptoKey; readonly publicKey: CryptoKey }

/** The JWS algorithm for a WebCrypto key (ES256 / ES384 / EdDSA / PS256 / RS256). */
export function dpopAlgorithm(key: CryptoKey): string {
  const algorithm = key.algorithm as { name: string; namedCurve?: string; hash?: { name: string } };
  switch (algorithm.name) {
    case 'ECDSA':
      if (algorithm.namedCurve === 'P-256') return 'ES256';
      if (algorithm.namedCurve === 'P-384') return 'ES384';
      break;
    case 'Ed25519':
      return 'EdDSA';
    case 'RSA-PSS':
      if (algorithm.hash?.name === 'SHA-256') return 'PS256';
      break;
    case 'RSASSA-PKCS1-v1_5':
      if (algorithm.hash?.name === 'SHA-256') return 'RS256';
      break;
    default:
      break;
  }
  throw new Error('unsupported DPoP key: use P-256, P-384, Ed25519 or a 2048+ bit RSA key with SHA-256');
}

/** The public JWK of a DPoP key pair (only the members its thumbprint uses, plus nothing private). */
export async function dpopPublicJwk(publicKey: CryptoKey): Promise<JWK> {
  const { kty, crv, x, y, n, e } = await exportJWK(publicKey);
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined));
}

export async function createDpopProof(
  keys: DpopKeyPair,
  request: { readonly method: string; readonly url: string; readonly accessToken?: string; readonly nowMs?: number },
): Promise<string> {
  const url = new URL(request.url);
  return new SignJWT({
    jti: randomBytes(24).toString('base64url'),
    htm: request.method.toUpperCase(),
    htu: `${url.origin}${url.pathname}`,
    iat: Math.floor((request.nowMs ?? Date.now()) / 1000),
    ...(request.accessToken !== undefined ? { ath: accessTokenHash(request.accessToken) } : {}),
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: dpopAlgorithm(keys.privateKey), jwk: await dpopPublicJwk(keys.publicKey) })
    .sign(keys.privateKey);
}
