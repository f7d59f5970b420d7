import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/token-endpoint/steps/decide.js';
import { makeAgent, makeRequest, makeSubject, makeTool, NOW_MS, POLICY } from '../../exchange/fixtures.js';
import { denialOf, runStep, START } from './step-kit.js';

const facts = { ...START, agent: makeAgent(), tool: makeTool(), request: makeRequest({ scopes: ['crm.read', 'crm.write'] }), subject: makeSubject({ scopes: ['crm.read'] }) };
const deps = { policy: POLICY, now: () => NOW_MS };

describe('step decide', () => {
  it('establishes the grant decided by the pure core: narrowed scopes, the act chain', async () => {
    const result = await runStep(decide, facts, deps);
    expect(result).toMatchObject({ grant: { decision: 'granted', scopes: { granted: ['crm.read'] }, act: { sub: 'agent-mail' } } });
  });

  it('passes the DPoP thumbprint on: a subject token bound to another key is refused', async () => {
    const bound = { ...facts, subject: makeSubject({ confirmation: { jkt: 'key-a' } }) };
    expect(denialOf(await runStep(decide, { ...bound, dpopJkt: 'key-b' }, deps))?.reason).toBe('subject_token_key_mismatch');
    expect(await runStep(decide, { ...bound, dpopJkt: 'key-a' }, deps)).toHaveProperty('grant');
  });

  it('nothing left after narrowing: scope_empty_after_narrowing, with the scope outcome for the record', async () => {
    const denial = denialOf(await runStep(decide, { ...facts, request: makeRequest({ scopes: ['crm.write'] }) }, deps));
    expect(denial).toMatchObject({ reason: 'scope_empty_after_narrowing', scopes: { granted: [], requested: ['crm.write'] } });
  });
});
