/**
 * The DPoP proof parsed strictly (issue 15 item 1), for every mutation class including the ones HTTP cannot
 * carry in a header field (a line break), so the shared verifier holds for any caller, not only over HTTP.
 */
import { describe, expect, it } from 'vitest';
import { verifyDpopProof } from '../../src/dpop/verify-dpop-proof.js';
import { asymmetricSigner } from '../support/attack-kit.js';
import { dpopKey, proofClaims } from '../support/dpop-kit.js';
import { MUTATIONS, wellFormed } from '../support/jwt-mutations.js';

const URL_ = 'https://broker.example.com/token';
const key = await dpopKey();
const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk };
const sign = asymmetricSigner(key.privateKey, 'ES256');
const check = { method: 'POST', url: URL_, nowMs: Date.now(), clockSkewSeconds: 10 };

describe('verifyDpopProof, strictly', () => {
  it('accepts the unmutated proof', async () => {
    expect((await verifyDpopProof(wellFormed(header, proofClaims({ url: URL_ }), sign), check)).ok).toBe(true);
  });

  it.each(MUTATIONS.map((m) => [m.name, m] as const))('refuses %s', async (_name, mutation) => {
    const result = await verifyDpopProof(mutation.build(header, proofClaims({ url: URL_ }), sign), { ...check, nowMs: Date.now() });
    expect(result).toMatchObject({ ok: false, problem: expect.stringMatching(/^the DPoP proof /u) as unknown });
  });
});
