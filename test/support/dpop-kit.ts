/**
 * DPoP proofs for tests: a well-formed proof for a request, or any deliberately broken variant (claims,
 * header, key, signature, hand-made `alg: none` / HS256 proofs jose refuses to sign).
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { accessTokenHash } from '../../src/dpop/verify-dpop-proof.js';
import { dpopPublicJwk } from '../../src/dpop/create-dpop-proof.js';
import { asymmetricSigner, compactJws, hmacSigner, unsigned, type Signer } from './attack-kit.js';

export interface DpopTestKey {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly privateJwk: JWK;
}

export async function dpopKey(): Promise<DpopTestKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, publicKey, publicJwk: await dpopPublicJwk(publicKey), privateJwk: await exportJWK(privateKey) };
}

export interface ProofOptions {
  readonly method?: string;
  readonly url: string;
  readonly accessToken?: string;
  /** Claims to add or replace (`undefined` removes one). */
  readonly claims?: Record<string, unknown>;
  /** Header members to add or replace (`undefined` removes one). */
  readonly header?: Record<string, unknown>;
  /** Sign with this signer instead of the key's own (a wrong key, none, HMAC). */
  readonly signer?: Signer;
  /** Flip a bit of the signature. */
  readonly tamper?: boolean;
}

function withoutUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export function proofClaims(opts: ProofOptions): JWTPayload {
  return withoutUndefined({
    jti: randomUUID(),
    htm: opts.method ?? 'POST',
    htu: opts.url,
    iat: Math.floor(Date.now() / 1000),
    ...(opts.accessToken !== undefined ? { ath: accessTokenHash(opts.accessToken) } : {}),
    ...opts.claims,
  });
}

export function proof(key: DpopTestKey, opts: ProofOptions): string {
  const header = withoutUndefined({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk, ...opts.header });
  const jws = compactJws(header, proofClaims(opts), opts.signer ?? asymmetricSigner(key.privateKey, 'ES256'));
  if (!opts.tamper) return jws;
  const [h, p, s] = jws.split('.') as [string, string, string];
  const sig = Buffer.from(s, 'base64url');
  sig[0] = (sig[0] ?? 0) ^ 1;
  return `${h}.${p}.${sig.toString('base64url')}`;
}

export { hmacSigner, unsigned };
