/**
 * Strict parsing at every place a JWT enters the token endpoint (issue 15 item 1; RFC 7515 §2, §4, §7.1):
 * the subject token, the actor token, the client assertion and the DPoP proof. Every mutation class is
 * validly signed over its own signing input, so only the strict pre-parser (src/jwt/strict-compact.ts) can
 * refuse it; each refusal is the entry point's usual one: exact status and error, no token, one denied record.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { asymmetricSigner, expectDenied, expectGranted, JWT_BEARER, JWT_TYPE, type ClientAuth } from '../support/attack-kit.js';
import { secretAgent, startAttackBed, type AttackBed } from '../support/attack-bed.js';
import { trustedIssuer } from '../support/broker-harness.js';
import { CRM } from '../support/catalog.js';
import { dpopKey, proofClaims, type DpopTestKey } from '../support/dpop-kit.js';
import { MUTATIONS, wellFormed } from '../support/jwt-mutations.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

const ACTOR_SECRET = 'strict-actor-agent-secret-for-tests';
const WORKLOAD = 'strict-actor-workload';

let bed: AttackBed;
/** Trusted for subject tokens without max_token_age (so a future iat is caught by nothing else). */
let users: TestIssuer;
/** Trusted for actor tokens. */
let workloads: TestIssuer;
let actorAgent: ClientAuth;
let dpop: DpopTestKey;

beforeAll(async () => {
  users = await startTestIssuer();
  workloads = await startTestIssuer();
  dpop = await dpopKey();
  const agent = await secretAgent('strict-actor-agent', ACTOR_SECRET, { crm: ['crm.accounts.read'] }, { actorToken: { allowed: true, subjects: [WORKLOAD] } });
  bed = await startAttackBed({
    agents: [agent],
    extraIssuers: (brokerIssuer) => [
      trustedIssuer(users.issuer, brokerIssuer, { algorithms: ['ES256'] }),
      trustedIssuer(workloads.issuer, brokerIssuer, { algorithms: ['ES256'], issuesActorTokens: true, tokenTypes: ['at+jwt', 'jwt'] }),
    ],
  });
  actorAgent = { kind: 'basic', clientId: 'strict-actor-agent', secret: ACTOR_SECRET };
});

afterAll(async () => {
  await bed.close();
  await users.close();
  await workloads.close();
});

const now = () => Math.floor(Date.now() / 1000);
const CRM_READ = { resource: CRM, scope: 'crm.accounts.read' };
const ISSUER_HEADER = { alg: 'ES256', typ: 'at+jwt', kid: 'es-1' };

const userClaims = () => ({ iss: users.issuer, sub: 'alice', aud: bed.broker.issuer, scope: 'crm.read', iat: now(), exp: now() + 600, jti: randomUUID() });
const workloadClaims = () => ({ iss: workloads.issuer, sub: WORKLOAD, aud: bed.broker.issuer, iat: now(), exp: now() + 300 });
const assertionClaims = () => ({ iss: 'key-agent', sub: 'key-agent', aud: bed.broker.issuer, jti: randomUUID(), iat: now(), exp: now() + 60 });

const userToken = (mutate = wellFormed) => mutate(ISSUER_HEADER, userClaims(), asymmetricSigner(users.es256, 'ES256'));
const actorToken = (mutate = wellFormed) => mutate(ISSUER_HEADER, workloadClaims(), asymmetricSigner(workloads.es256, 'ES256'));
const assertion = (mutate = wellFormed) => mutate({ alg: 'ES256', kid: bed.keyAgent.kid }, assertionClaims(), asymmetricSigner(bed.keyAgent.key, 'ES256'));
const dpopProof = (mutate = wellFormed) => mutate({ typ: 'dpop+jwt', alg: 'ES256', jwk: dpop.publicJwk }, { ...proofClaims({ url: `${bed.broker.issuer}/token` }) }, asymmetricSigner(dpop.privateKey, 'ES256'));

describe('positive controls: the same builders, unmutated, are granted', () => {
  it('subject token', async () => {
    expectGranted(await bed.client.exchange(bed.support, { ...CRM_READ, subject_token: userToken() }));
  });
  it('actor token', async () => {
    expectGranted(await bed.client.exchange(actorAgent, { ...CRM_READ, subject_token: userToken(), actor_token: actorToken(), actor_token_type: JWT_TYPE }));
  });
  it('client assertion', async () => {
    expectGranted(await bed.client.exchange(bed.keyAgent, { ...CRM_READ, subject_token: userToken(), client_assertion: assertion(), client_assertion_type: JWT_BEARER }));
  });
  it('DPoP proof', async () => {
    const proof = dpopProof();
    expectGranted(await bed.client.exchange(bed.support, { ...CRM_READ, subject_token: userToken() }, { headers: { dpop: proof }, secrets: [proof] }));
  });
});

describe.each(MUTATIONS.map((m) => [m.name, m] as const))('%s', (_name, mutation) => {
  const build = mutation.build.bind(mutation);

  it('subject_token -> 400 invalid_request, subject_token_invalid', async () => {
    const res = await bed.client.exchange(bed.support, { ...CRM_READ, subject_token: userToken(build) });
    expectDenied(res, { status: 400, error: 'invalid_request', reason: 'subject_token_invalid' });
  });

  it('actor_token -> 400 invalid_request, actor_token_invalid', async () => {
    const res = await bed.client.exchange(actorAgent, { ...CRM_READ, subject_token: userToken(), actor_token: actorToken(build), actor_token_type: JWT_TYPE });
    expectDenied(res, { status: 400, error: 'invalid_request', reason: 'actor_token_invalid' });
  });

  it('client_assertion -> 401 invalid_client, client_authentication_failed', async () => {
    const res = await bed.client.exchange(bed.keyAgent, { ...CRM_READ, subject_token: userToken(), client_assertion: assertion(build), client_assertion_type: JWT_BEARER });
    expectDenied(res, { status: 401, error: 'invalid_client', reason: 'client_authentication_failed' });
  });

  it.runIf(mutation.inHeaderField)('DPoP proof -> 400 invalid_dpop_proof, dpop_proof_invalid', async () => {
    const proof = dpopProof(build);
    const res = await bed.client.exchange(bed.support, { ...CRM_READ, subject_token: userToken() }, { headers: { dpop: proof }, secrets: [proof] });
    expectDenied(res, { status: 400, error: 'invalid_dpop_proof', reason: 'dpop_proof_invalid' });
  });
});
