import { generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { createDpopProof } from '../../../src/dpop/create-dpop-proof.js';
import { MemoryState } from '../../../src/state/memory-state.js';
import { dpop } from '../../../src/token-endpoint/steps/dpop.js';
import { makeAgent } from '../../exchange/fixtures.js';
import { denialOf, httpRequest, runStep, START } from './step-kit.js';

const TOKEN_ENDPOINT = 'https://broker.example/token';

describe('step dpop', () => {
  const deps = () => ({ tokenEndpoint: TOKEN_ENDPOINT, clockSkewSeconds: 30, state: new MemoryState(), now: Date.now });

  it('no proof: a Bearer token (nothing established), unless the agent must use DPoP', async () => {
    expect(await runStep(dpop, { ...START, agent: makeAgent() }, deps())).toEqual({});
    const required = { ...makeAgent(), dpop: 'required' as const };
    expect(denialOf(await runStep(dpop, { ...START, agent: required }, deps()))).toMatchObject({ reason: 'dpop_proof_required', error: 'invalid_dpop_proof' });
  });

  it('a valid proof establishes its key thumbprint; the same proof again is a replay', async () => {
    const keys = await generateKeyPair('ES256');
    const proof = await createDpopProof(keys, { method: 'POST', url: TOKEN_ENDPOINT });
    const req = httpRequest({ rawHeaders: ['DPoP', proof] });
    const d = deps();
    const result = await runStep(dpop, { ...START, agent: makeAgent() }, d, req);
    expect(result).toEqual({ dpopJkt: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/u) as unknown });
    expect(denialOf(await runStep(dpop, { ...START, agent: makeAgent() }, d, req))?.reason).toBe('dpop_proof_replayed');
  });

  it('two DPoP headers, or a proof for another URL: dpop_proof_invalid', async () => {
    const keys = await generateKeyPair('ES256');
    const proof = await createDpopProof(keys, { method: 'POST', url: TOKEN_ENDPOINT });
    expect(denialOf(await runStep(dpop, { ...START, agent: makeAgent() }, deps(), httpRequest({ rawHeaders: ['DPoP', proof, 'dpop', proof] })))?.reason).toBe('dpop_proof_invalid');
    const elsewhere = await createDpopProof(keys, { method: 'POST', url: 'https://other.example/token' });
    expect(denialOf(await runStep(dpop, { ...START, agent: makeAgent() }, deps(), httpRequest({ rawHeaders: ['DPoP', elsewhere] })))?.reason).toBe('dpop_proof_invalid');
  });
});
