/**
 * The verified-token cache inside the real verifier, with keys fetched over HTTP from a test issuer:
 * a remembered token skips the signature check, and everything a full verification would refuse later
 * (expiry, a withdrawn key, a stale key set, any changed byte) is still refused with the exact reason.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportJWK, generateKeyPair } from 'jose';
import type { TrustedIssuer } from '../../src/domain/broker-config.js';
import { TrustedIssuers } from '../../src/subject-token/issuer-keys.js';
import { createIncomingTokenVerifier } from '../../src/subject-token/verify-incoming-token.js';
import { nodeSignatures } from '../../src/subject-token/node-verify.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

const AUDIENCE = 'https://broker.test';
const SKEW = 10;
let idp: TestIssuer;

beforeAll(async () => { idp = await startTestIssuer(); });
afterAll(async () => { await idp.close(); });
afterEach(() => { vi.restoreAllMocks(); });

function trusted(overrides: Partial<TrustedIssuer> = {}): TrustedIssuer {
  return { issuer: idp.issuer, jwksUri: idp.jwksUri, audiences: [AUDIENCE], algorithms: ['ES256', 'RS256'], scopeClaim: 'scope', tokenTypes: ['at+jwt'], issuesActorTokens: true, ...overrides };
}

function verifierFor(issuer: TrustedIssuer, opts: { entries?: number; cooldownMs?: number; cacheMaxAgeMs?: number } = {}) {
  const issuers = new TrustedIssuers([issuer], { timeoutMs: 2000, cooldownMs: opts.cooldownMs ?? 0, cacheMaxAgeMs: opts.cacheMaxAgeMs ?? 60_000 });
  return createIncomingTokenVerifier(issuers, { clockSkewSeconds: SKEW, ...(opts.entries !== undefined ? { verifiedTokenCacheEntries: opts.entries } : {}) });
}

const nowS = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({ iss: idp.issuer, sub: 'alice', aud: AUDIENCE, scope: 'crm.read', iat: nowS(), exp: nowS() + 300, ...extra });
/** Signature checks: node:crypto's for ES256 / RS256 (src/subject-token/node-verify.ts), WebCrypto's for the rest. */
const signatureChecks = () => {
  const node = vi.spyOn(nodeSignatures, 'verify');
  const web = vi.spyOn(globalThis.crypto.subtle, 'verify');
  return {
    mock: { get calls() { return [...node.mock.calls, ...web.mock.calls]; } },
    mockClear: () => { node.mockClear(); web.mockClear(); },
  };
};

describe('verified-token cache in the incoming-token verifier', () => {
  it('checks the signature of a repeated token once, and every time when disabled', async () => {
    const token = await idp.sign(claims());
    const cached = verifierFor(trusted());
    const spy = signatureChecks();
    for (let i = 0; i < 5; i += 1) expect(await cached.verifySubject(token, Date.now())).toMatchObject({ sub: 'alice', scopes: ['crm.read'] });
    // the first call fetches the keys (nothing remembered under no generation); the second is remembered
    expect(spy.mock.calls.length).toBe(2);

    spy.mockClear();
    const uncached = verifierFor(trusted(), { entries: 0 });
    for (let i = 0; i < 5; i += 1) expect(await uncached.verifySubject(token, Date.now())).toMatchObject({ sub: 'alice' });
    expect(spy.mock.calls.length).toBe(5);
  });

  it('returns the same claims from memory as from a full verification, fingerprint included', async () => {
    const token = await idp.sign(claims({ may_act: { sub: 'agent-1' } }));
    const verifier = verifierFor(trusted());
    const full = await verifier.verifySubject(token, Date.now());
    await verifier.verifySubject(token, Date.now());
    const remembered = await verifier.verifySubject(token, Date.now());
    expect(remembered).toEqual(full);
    expect(await verifierFor(trusted(), { entries: 0 }).verifySubject(token, Date.now())).toEqual(full);
  });

  it('refuses a remembered token once it expires, with the exact reason', async () => {
    const token = await idp.sign(claims({ exp: nowS() + 30 }));
    const verifier = verifierFor(trusted());
    await verifier.verifySubject(token, Date.now());
    expect(await verifier.verifySubject(token, Date.now())).toMatchObject({ sub: 'alice' });
    const later = (nowS() + 30 + SKEW) * 1000;
    expect(await verifier.verifySubject(token, later)).toMatchObject({ decision: 'denied', reason: 'subject_token_expired' });
  });

  it('refuses a remembered token beyond the issuer maximum age', async () => {
    const token = await idp.sign(claims({ exp: nowS() + 3600 }));
    const verifier = verifierFor(trusted({ maxTokenAgeSeconds: 60 }));
    await verifier.verifySubject(token, Date.now());
    expect(await verifier.verifySubject(token, Date.now())).toMatchObject({ sub: 'alice' });
    expect(await verifier.verifySubject(token, (nowS() + 61 + SKEW) * 1000)).toMatchObject({ decision: 'denied', reason: 'subject_token_expired' });
  });

  it('forgets every remembered token when the issuer key set is refetched: a withdrawn key stops working', async () => {
    const original = [...idp.publicJwks.keys];
    const token = await idp.sign(claims());
    const verifier = verifierFor(trusted());
    await verifier.verifySubject(token, Date.now());
    expect(await verifier.verifySubject(token, Date.now())).toMatchObject({ sub: 'alice' });
    try {
      // The issuer withdraws es-1 (say, compromised) and publishes es-2; a token under es-2 makes the broker refetch.
      const next = await generateKeyPair('ES256', { extractable: true });
      idp.publicJwks.keys.splice(0, idp.publicJwks.keys.length, { ...(await exportJWK(next.publicKey)), kid: 'es-2', alg: 'ES256', use: 'sig' });
      const fresh = await idp.sign(claims({ sub: 'bob' }), { key: next.privateKey, header: { kid: 'es-2' } });
      const fetchesBefore = idp.jwksRequests();
      expect(await verifier.verifySubject(fresh, Date.now())).toMatchObject({ sub: 'bob' });
      expect(idp.jwksRequests()).toBe(fetchesBefore + 1);
      expect(await verifier.verifySubject(token, Date.now())).toMatchObject({ decision: 'denied', reason: 'subject_token_invalid' });
    } finally {
      idp.publicJwks.keys.splice(0, idp.publicJwks.keys.length, ...original);
    }
  });

  it('does not use a remembered token once the key set is older than its cache age (keys are refetched)', async () => {
    const token = await idp.sign(claims());
    const verifier = verifierFor(trusted(), { cacheMaxAgeMs: 150 });
    await verifier.verifySubject(token, Date.now());
    await verifier.verifySubject(token, Date.now());
    const fetches = idp.jwksRequests();
    await new Promise((r) => setTimeout(r, 200));
    const spy = signatureChecks();
    expect(await verifier.verifySubject(token, Date.now())).toMatchObject({ sub: 'alice' });
    expect(idp.jwksRequests()).toBe(fetches + 1);
    expect(spy.mock.calls.length).toBe(1);
  });

  it('treats any changed byte as a different token (a tampered signature is refused after the original was remembered)', async () => {
    const token = await idp.sign(claims());
    const verifier = verifierFor(trusted());
    await verifier.verifySubject(token, Date.now());
    await verifier.verifySubject(token, Date.now());
    const [h, p, s] = token.split('.') as [string, string, string];
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'AB' : 'AA'}`;
    expect(await verifier.verifySubject(flipped, Date.now())).toMatchObject({ decision: 'denied', reason: 'subject_token_invalid' });
  });

  it('keeps subject and actor verifications apart: a remembered subject token is still checked as an actor token', async () => {
    const token = await idp.sign(claims());
    const verifier = verifierFor(trusted({ issuesActorTokens: false }));
    await verifier.verifySubject(token, Date.now());
    await verifier.verifySubject(token, Date.now());
    expect(await verifier.verifyActor(token, Date.now())).toMatchObject({ decision: 'denied', reason: 'actor_token_invalid' });
  });
});
