import { describe, expect, it } from 'vitest';
import type { ActorClaims, SubjectClaims } from '../../../src/domain/exchange.js';
import { deny } from '../../../src/exchange/reasons.js';
import { tokenFingerprint, type IncomingTokenVerifier } from '../../../src/subject-token/verify-incoming-token.js';
import { verifySubject } from '../../../src/token-endpoint/steps/verify-subject.js';
import { makeRequest, makeSubject } from '../../exchange/fixtures.js';
import { denialOf, refusalOf, runStep, START } from './step-kit.js';

/** An in-memory verifier: a table of tokens it accepts (the real one is tested in test/subject-token/). */
function verifier(subjects: Record<string, SubjectClaims>, actors: Record<string, ActorClaims> = {}): IncomingTokenVerifier {
  return {
    verifySubject: (token) => Promise.resolve(subjects[token] ?? deny('subject_token_invalid', 'invalid')),
    verifyActor: (token) => Promise.resolve(actors[token] ?? deny('actor_token_invalid', 'invalid')),
  };
}

const subject = makeSubject();
const actor: ActorClaims = { iss: 'https://workload.example', sub: 'agent-mail', exp: 2_000_000_000, fingerprint: 'fp-actor' };

describe('step verify-subject', () => {
  it('establishes the verified subject (and actor) with their fingerprints', async () => {
    const deps = { verifier: verifier({ 'user.token.sig': subject }, { 'actor.token.sig': actor }), now: Date.now };
    expect(await runStep(verifySubject, { ...START, request: makeRequest({ subjectToken: 'user.token.sig' }) }, deps))
      .toEqual({ subject, subjectFingerprint: subject.fingerprint });
    const withActor = makeRequest({ subjectToken: 'user.token.sig', actorToken: 'actor.token.sig', actorTokenType: 'urn:ietf:params:oauth:token-type:jwt' });
    expect(await runStep(verifySubject, { ...START, request: withActor }, deps))
      .toEqual({ subject, subjectFingerprint: subject.fingerprint, actor, actorFingerprint: 'fp-actor' });
  });

  it('a subject token that fails: its denial, and its fingerprint for the record (never the token)', async () => {
    const refused = refusalOf(await runStep(verifySubject, { ...START, request: makeRequest({ subjectToken: 'bad.token.sig' }) }, { verifier: verifier({}), now: Date.now }));
    expect(refused?.denial.reason).toBe('subject_token_invalid');
    expect(refused?.established).toEqual({ subjectFingerprint: tokenFingerprint('bad.token.sig') });
  });

  it('an actor token that fails: actor_token_invalid, both fingerprints kept', async () => {
    const request = makeRequest({ subjectToken: 'user.token.sig', actorToken: 'bad.actor.sig', actorTokenType: 'urn:ietf:params:oauth:token-type:jwt' });
    const result = await runStep(verifySubject, { ...START, request }, { verifier: verifier({ 'user.token.sig': subject }), now: Date.now });
    expect(denialOf(result)?.reason).toBe('actor_token_invalid');
    expect(refusalOf(result)?.established).toMatchObject({ subjectFingerprint: subject.fingerprint, actorFingerprint: tokenFingerprint('bad.actor.sig') });
  });
});
