import { describe, expect, it } from 'vitest';
import { deny } from '../../../src/exchange/reasons.js';
import { runPipeline } from '../../../src/token-endpoint/pipeline/runner.js';
import { defineStep, refuse } from '../../../src/token-endpoint/pipeline/step.js';
import type { Grant } from '../../../src/domain/exchange.js';
import type { MintedToken } from '../../../src/minting/mint-access-token.js';
import { httpRequest, START } from '../steps/step-kit.js';

const grant = { decision: 'granted', issuedTokenType: 'urn:ietf:params:oauth:token-type:access_token' } as unknown as Grant;
const minted: MintedToken = { token: 't', jti: 'j', iat: 1, exp: 2 };

const establishClient = defineStep<unknown>('client', [], () => ({ clientId: 'a' }));
const establishGrant = defineStep<unknown>('grant', [], () => ({ grant }));
const mintIt = defineStep<unknown, 'grant'>('mint', ['grant'], () => Promise.resolve({ minted }));

describe('runPipeline', () => {
  it('runs the steps in order, collects their facts and issues when the last step has minted', async () => {
    const seen: string[] = [];
    const outcome = await runPipeline([establishClient, establishGrant, mintIt], START, httpRequest(), {}, {
      onStep: (name, ms, result) => { seen.push(`${name}:${result}`); expect(ms).toBeGreaterThanOrEqual(0); },
    });
    expect(seen).toEqual(['client:established', 'grant:established', 'mint:established']);
    expect(outcome.established).toMatchObject({ requestId: 'req-1', clientId: 'a', grant, minted });
    expect(outcome.result).toEqual({ kind: 'issued', grant, minted, tokenType: 'Bearer' });
  });

  it('a DPoP-bound grant is issued as token_type DPoP', async () => {
    const withProof = defineStep<unknown>('dpop', [], () => ({ dpopJkt: 'thumb' }));
    const outcome = await runPipeline([withProof, establishGrant, mintIt], START, httpRequest(), {});
    expect(outcome.result).toMatchObject({ kind: 'issued', tokenType: 'DPoP' });
  });

  it('the first denial ends the run: later steps never run', async () => {
    let ran = false;
    const denying = defineStep<unknown>('deny', [], () => deny('scope_missing', 'no scope'));
    const later = defineStep<unknown>('later', [], () => { ran = true; return {}; });
    const outcome = await runPipeline([establishClient, denying, later], START, httpRequest(), {});
    expect(ran).toBe(false);
    expect(outcome.result).toEqual(refuse(deny('scope_missing', 'no scope')));
    expect(outcome.established.clientId).toBe('a');
  });

  it('a refusal keeps its headers and fields and adds the facts it carries to the record', async () => {
    const pending = defineStep<unknown>('pending', [], () => refuse(deny('rate_limited', 'wait'), {
      headers: { 'Retry-After': '3' }, fields: { interval: 5 }, established: { subjectFingerprint: 'fp' },
    }));
    const outcome = await runPipeline([pending], START, httpRequest(), {});
    expect(outcome.result).toMatchObject({ kind: 'refused', headers: { 'Retry-After': '3' }, fields: { interval: 5 } });
    expect(outcome.established.subjectFingerprint).toBe('fp');
  });

  it('a step whose needed fact is missing is not run: internal_error (a mis-ordered step list fails closed)', async () => {
    const outcome = await runPipeline([mintIt], START, httpRequest(), {});
    expect(outcome.result).toMatchObject({ kind: 'refused', denial: { reason: 'internal_error', error: 'server_error' } });
    expect(outcome.established.minted).toBeUndefined();
  });

  it('a step that throws refuses the request as internal_error and reports the error', async () => {
    const errors: string[] = [];
    const outcomes: string[] = [];
    const throwing = defineStep<unknown>('throws', [], () => { throw new Error('boom'); });
    const outcome = await runPipeline([throwing], START, httpRequest(), {}, {
      onError: (name) => errors.push(name), onStep: (name, _ms, result) => outcomes.push(`${name}:${result}`),
    });
    expect(outcome.result).toMatchObject({ kind: 'refused', denial: { reason: 'internal_error' } });
    expect(errors).toEqual(['throws']);
    expect(outcomes).toEqual(['throws:failed']);
  });

  it('a run that ends without a minted token is never a grant', async () => {
    const outcome = await runPipeline([establishClient, establishGrant], START, httpRequest(), {});
    expect(outcome.result).toMatchObject({ kind: 'refused', denial: { reason: 'internal_error' } });
  });
});
