/**
 * Step `verify-subject`: the user's token (RFC 8693 §2.1 `subject_token`) and, if sent, the agent's own
 * `actor_token`, each verified against its trusted issuer (src/subject-token/). A token that fails is still
 * fingerprinted for the record (never stored itself).
 */
import { isDenial } from '../../exchange/reasons.js';
import { tokenFingerprint, type IncomingTokenVerifier } from '../../subject-token/verify-incoming-token.js';
import { defineStep, refuse } from '../pipeline/step.js';

export interface VerifySubjectDeps {
  readonly verifier: IncomingTokenVerifier;
  readonly now: () => number;
}

export const verifySubject = defineStep<VerifySubjectDeps, 'request'>('verify-subject', ['request'], async (facts, _req, deps) => {
  const { request } = facts;
  const nowMs = deps.now();
  const subject = await deps.verifier.verifySubject(request.subjectToken, nowMs);
  if (isDenial(subject)) return refuse(subject, { established: { subjectFingerprint: tokenFingerprint(request.subjectToken) } });
  if (request.actorToken === undefined) return { subject, subjectFingerprint: subject.fingerprint };
  const actor = await deps.verifier.verifyActor(request.actorToken, nowMs);
  if (isDenial(actor)) {
    return refuse(actor, { established: { subject, subjectFingerprint: subject.fingerprint, actorFingerprint: tokenFingerprint(request.actorToken) } });
  }
  return { subject, subjectFingerprint: subject.fingerprint, actor, actorFingerprint: actor.fingerprint };
});
