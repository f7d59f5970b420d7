import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { isDenial } from '../../../src/exchange/reasons.js';
import { decide } from '../../../src/exchange/decide.js';
import { mint } from '../../../src/token-endpoint/steps/mint.js';
import { testSigner } from '../../attribution/helpers.js';
import { makeAgent, makeRequest, makeSubject, makeTool, POLICY } from '../../exchange/fixtures.js';
import { runStep, START } from './step-kit.js';

describe('step mint', () => {
  it('signs the decided grant; bound to the DPoP key when a proof was verified', async () => {
    const key = await testSigner();
    const agent = makeAgent();
    const tool = makeTool();
    const nowMs = Date.now();
    const grant = decide({ request: makeRequest(), agent, tool, subject: makeSubject({ exp: Math.floor(nowMs / 1000) + 3600 }), policy: POLICY, nowMs });
    if (isDenial(grant)) throw new Error(grant.reason);
    const result = await runStep(mint, { ...START, agent, grant, dpopJkt: 'thumbprint' }, { issuer: 'https://broker.example', signingKey: () => key });
    const minted = (result as { minted: { token: string; jti: string; exp: number } }).minted;
    const { payload } = await jwtVerify(minted.token, createLocalJWKSet({ keys: [key.publicJwk] }), { issuer: 'https://broker.example', audience: tool.resource });
    expect(payload).toMatchObject({ sub: 'user-42', client_id: 'agent-mail', jti: minted.jti, exp: minted.exp, cnf: { jkt: 'thumbprint' } });
  });
});
