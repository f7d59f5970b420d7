/**
 * The broker's signing keys. Each key is one private JWK in `<keysDir>/signing-<kid>.json` (mode 0600).
 * In development the first key is generated on first run; in production a missing key is an error
 * (keys are provisioned, not invented). The newest key (by `iat` stored alongside) signs; all are published.
 */
import { mkdir, readdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, calculateJwkThumbprint, type JWK, type CryptoKey } from 'jose';
import { createCompactSigner, type CompactSigner } from '../minting/compact-signer.js';

export const SIGNING_ALG = 'ES256';

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  /** Private JWK, as oidc-provider's `jwks` configuration wants it (it publishes only the public part). */
  readonly privateJwk: JWK;
  readonly createdAt: number;
  /** Signs broker access tokens (`typ: at+jwt`) synchronously with this key. */
  readonly accessTokenSigner: CompactSigner;
}

export interface SigningKeys {
  /** The key that signs new tokens. */
  readonly active: SigningKey;
  /** Every key to publish in the JWKS (active first). */
  readonly all: readonly SigningKey[];
}

interface StoredKey { readonly jwk: JWK; readonly createdAt: number }

const FILE_PATTERN = /^signing-[A-Za-z0-9_-]+\.json$/u;

export async function generateSigningKey(): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { jwk: { ...jwk, kid, alg: SIGNING_ALG, use: 'sig' }, createdAt: Math.floor(Date.now() / 1000) };
}

async function toSigningKey(stored: StoredKey, source: string): Promise<SigningKey> {
  const { jwk } = stored;
  if (typeof jwk.kid !== 'string' || typeof jwk.d !== 'string' || jwk.alg !== SIGNING_ALG) {
    throw new Error(`${source}: not an ${SIGNING_ALG} private JWK with a kid`);
  }
  const privateKey = await importJWK(jwk, SIGNING_ALG);
  if (privateKey instanceof Uint8Array) throw new Error(`${source}: symmetric keys cannot sign broker tokens`);
  return {
    kid: jwk.kid,
    alg: SIGNING_ALG,
    privateKey,
    privateJwk: jwk,
    createdAt: stored.createdAt,
    accessTokenSigner: createCompactSigner(jwk, 'at+jwt'),
  };
}

export async function loadSigningKeys(keysDir: string, opts: { generateIfMissing: boolean }): Promise<SigningKeys & { generated: boolean }> {
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  const files = (await readdir(keysDir)).filter((f) => FILE_PATTERN.test(f)).sort();
  const keys: SigningKey[] = [];
  for (const file of files) {
    const path = join(keysDir, file);
    const stored = JSON.parse(await readFile(path, 'utf8')) as StoredKey;
    keys.push(await toSigningKey(stored, path));
  }
  let generated = false;
  if (keys.length === 0) {
    if (!opts.generateIfMissing) {
      throw new Error(`no signing key in ${keysDir}: provision one (signing-<kid>.json, an ${SIGNING_ALG} private JWK)`);
    }
    const stored = await generateSigningKey();
    const path = join(keysDir, `signing-${String(stored.jwk.kid)}.json`);
    await writeFile(path, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
    keys.push(await toSigningKey(stored, path));
    generated = true;
  }
  keys.sort((a, b) => b.createdAt - a.createdAt);
  const [active] = keys as [SigningKey, ...SigningKey[]];
  return { active, all: keys, generated };
}
