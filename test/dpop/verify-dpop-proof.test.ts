/** The DPoP proof checks shared by the token endpoint and the validator (RFC 9449 §4.3), one by one. */
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from 'jose';
import { dpopHeader, dpopHeaderFromValues } from '../../src/dpop/dpop-header.js';
import { createDpopProof } from '../../src/dpop/create-dpop-proof.js';
import { accessTokenHash, normaliseHtu, verifyDpopProof, type DpopCheck } from '../../src/dpop/verify-dpop-proof.js';
import { asymmetricSigner } from '../support/attack-kit.js';
import { dpopKey, hmacSigner, proof, unsigned } from '../support/dpop-kit.js';

const URL_ = 'https://broker.example.com/token';
const check = (overrides: Partial<DpopCheck> = {}): DpopCheck => ({ method: 'POST', url: URL_, nowMs: Date.now(), clockSkewSeconds: 10, ...overrides });
const key = await dpopKey();
const otherKey = await dpopKey();
const now = () => Math.floor(Date.now() / 1000);

async function problem(jws: string, c: Partial<DpopCheck> = {}): Promise<string | undefined> {
  const result = await verifyDpopProof(jws, check(c));
  return result.ok ? undefined : result.problem;
}

describe('verifyDpopProof', () => {
  it('accepts a well-formed proof and returns the RFC 7638 thumbprint of its key', async () => {
    const result = await verifyDpopProof(proof(key, { url: URL_ }), check());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { calculateJwkThumbprint } = await import('jose');
    expect(result.proof.jkt).toBe(await calculateJwkThumbprint(key.publicJwk));
  });

  it('accepts what the SDK creates, for ES256 and EdDSA keys, with ath', async () => {
    for (const alg of ['ES256', 'EdDSA'] as const) {
      const pair = await generateKeyPair(alg);
      const jws = await createDpopProof(pair, { method: 'get', url: 'https://tool.example/a/b?x=1#f', accessToken: 'tok' });
      expect(await problem(jws, { method: 'GET', url: 'https://tool.example/a/b', accessToken: 'tok' }), alg).toBeUndefined();
    }
  });

  it.each([
    ['typ', { header: { typ: 'JWT' } }, /typ/u],
    ['typ missing', { header: { typ: undefined } }, /typ/u],
    ['alg none', { header: { alg: 'none' }, signer: unsigned }, /alg/u],
    ['alg HS256', { header: { alg: 'HS256' }, signer: hmacSigner('secret') }, /alg/u],
    ['no jwk', { header: { jwk: undefined } }, /jwk/u],
    ['private jwk', { header: { jwk: key.privateJwk } }, /private/u],
    ['symmetric jwk', { header: { jwk: { kty: 'oct', k: 'c2VjcmV0' } } }, /private|jwk/u],
    ['bad signature', { tamper: true }, /signature/u],
    ['signed by another key', { signer: asymmetricSigner(otherKey.privateKey, 'ES256') }, /signature/u],
    ['htm', { method: 'GET' }, /htm/u],
    ['htu other path', { url: 'https://broker.example.com/revoke' }, /htu/u],
    ['htu other host', { url: 'https://evil.example.com/token' }, /htu/u],
    ['htu not a URL', { url: 'token' }, /htu/u],
    ['stale iat', { url: URL_, claims: { iat: now() - 120 } }, /old/u],
    ['future iat', { url: URL_, claims: { iat: now() + 60 } }, /future/u],
    ['iat missing', { url: URL_, claims: { iat: undefined } }, /iat/u],
    ['jti missing', { url: URL_, claims: { jti: undefined } }, /jti/u],
    ['jti empty', { url: URL_, claims: { jti: '' } }, /jti/u],
  ] as const)('refuses: %s', async (_name, opts, expected) => {
    expect(await problem(proof(key, { url: URL_, ...opts }))).toMatch(expected);
  });

  it('compares htu without query and fragment, after normalisation', async () => {
    expect(await problem(proof(key, { url: 'HTTPS://Broker.Example.com:443/token?x=1#y' }))).toBeUndefined();
    expect(normaliseHtu('https://a.example/p?q#f')).toBe('https://a.example/p');
  });

  it('checks ath when an access token accompanies the proof', async () => {
    expect(await problem(proof(key, { url: URL_, accessToken: 'the-token' }), { accessToken: 'the-token' })).toBeUndefined();
    expect(await problem(proof(key, { url: URL_, accessToken: 'other' }), { accessToken: 'the-token' })).toMatch(/ath/u);
    expect(await problem(proof(key, { url: URL_ }), { accessToken: 'the-token' })).toMatch(/ath/u);
    expect(accessTokenHash('the-token')).toMatch(/^[A-Za-z0-9_-]{43}$/u);
  });

  it('refuses malformed and oversized proofs', async () => {
    for (const bad of ['', 'abc', 'a.b', 'a.b.c.d', `${'a'.repeat(9000)}.b.c`, 'eyJ.eyJ.!!']) {
      expect(await problem(bad), bad.slice(0, 20)).toBeDefined();
    }
  });
});

describe('the DPoP header', () => {
  it('must appear exactly once', () => {
    expect(dpopHeader(['Host', 'x'])).toEqual({ kind: 'none' });
    expect(dpopHeader(['DPoP', ' p '])).toEqual({ kind: 'one', value: 'p' });
    expect(dpopHeader(['dpop', 'a', 'DPoP', 'b'])).toEqual({ kind: 'several' });
    expect(dpopHeaderFromValues(undefined)).toEqual({ kind: 'none' });
    expect(dpopHeaderFromValues('a, b')).toEqual({ kind: 'several' });
    expect(dpopHeaderFromValues(['a', 'b'])).toEqual({ kind: 'several' });
    expect(dpopHeaderFromValues(['a'])).toEqual({ kind: 'one', value: 'a' });
  });
});
