/**
 * Delegation-chain abuse (STANDARDS 5, 15, 22, 23): forged or malformed `act` claims in the user's token,
 * repeated actors, over-deep chains, `may_act` naming someone else, actor tokens the agent may not present
 * or that name another identity (splicing), and re-exchanging a broker token to strip its `act`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculateJwkThumbprint, decodeJwt, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import { compactJws, expectDenied, expectGranted, JWT_TYPE, REFRESH_TOKEN_TYPE, unsigned } from '../support/attack-kit.js';
import { secretAgent, startAttackBed, type AttackBed } from '../support/attack-bed.js';
import { trustedIssuer } from '../support/broker-harness.js';
import { CRM } from '../support/catalog.js';
import { dpopKey, proof } from '../support/dpop-kit.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import type { ClientAuth } from '../support/attack-kit.js';

const ACTOR_SECRET = 'actor-agent-secret-for-attack-tests';
const WORKLOAD = 'actor-agent-workload';

let bed: AttackBed;
/** Issues the agents' workload identity tokens (trusted for actor_token only). */
let workloads: TestIssuer;
let actorAgent: ClientAuth;
let attackerKey: CryptoKey;

beforeAll(async () => {
  workloads = await startTestIssuer();
  attackerKey = (await generateKeyPair('ES256')).privateKey;
  const agent = await secretAgent('actor-agent', ACTOR_SECRET, { crm: ['crm.accounts.read', 'crm.accounts.write'] }, {
    actorToken: { allowed: true, subjects: [WORKLOAD] },
  });
  bed = await startAttackBed({
    agents: [agent],
    config: { maxDelegationDepth: 4 },
    extraIssuers: (brokerIssuer) => [
      trustedIssuer(workloads.issuer, brokerIssuer, { algorithms: ['ES256'], issuesActorTokens: true, tokenTypes: ['at+jwt', 'jwt'] }),
    ],
  });
  actorAgent = { kind: 'basic', clientId: 'actor-agent', secret: ACTOR_SECRET };
});

afterAll(async () => {
  await bed.close();
  await workloads.close();
});

const BAD = { status: 400, error: 'invalid_request' } as const;

function workloadClaims(overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { iss: workloads.issuer, sub: WORKLOAD, aud: bed.broker.issuer, iat: now, exp: now + 300, ...overrides };
}

/** support-agent presents a user token from the trusted test issuer carrying the given extra claims. */
async function withClaims(extra: JWTPayload) {
  return bed.client.exchange(bed.support, { subject_token: await bed.userToken(extra), resource: CRM, scope: 'crm.accounts.read' });
}

async function asActorAgent(params: Record<string, string | undefined>) {
  return bed.client.exchange(actorAgent, { subject_token: await bed.userToken(), resource: CRM, scope: 'crm.accounts.read', ...params });
}

describe('positive controls', () => {
  it('nests an existing chain inside the new actor and never drops it', async () => {
    const res = await withClaims({ act: { sub: 'upstream-agent', iss: 'https://agents.example' } });
    const record = expectGranted(res);
    expect(decodeJwt(res.body.access_token as string).act).toEqual({ sub: 'support-agent', act: { sub: 'upstream-agent', iss: 'https://agents.example' } });
    expect(record.actors).toEqual(['support-agent', 'upstream-agent']);
  });

  it('honours may_act naming this agent (and this broker), and does not copy it', async () => {
    const res = await withClaims({ may_act: { sub: 'support-agent', iss: bed.broker.issuer } });
    expectGranted(res);
    expect(decodeJwt(res.body.access_token as string).may_act).toBeUndefined();
  });

  it('accepts the agent\'s own workload token as actor_token', async () => {
    const res = await asActorAgent({ actor_token: await workloads.sign(workloadClaims()), actor_token_type: JWT_TYPE });
    expectGranted(res);
    expect(decodeJwt(res.body.access_token as string).act).toEqual({ sub: 'actor-agent' });
  });
});

describe('forged and malformed act chains in the subject token', () => {
  it('act already naming the presenting agent (repeat) -> invalid_request', async () => {
    expectDenied(await withClaims({ act: { sub: 'support-agent' } }), { ...BAD, reason: 'act_chain_repeated_actor' });
  });

  it('the presenting agent hidden deeper in the chain -> invalid_request', async () => {
    expectDenied(await withClaims({ act: { sub: 'planner', act: { sub: 'support-agent' } } }), { ...BAD, reason: 'act_chain_repeated_actor' });
  });

  it('a cycle between two other actors -> invalid_request', async () => {
    expectDenied(await withClaims({ act: { sub: 'a', act: { sub: 'b', act: { sub: 'a' } } } }), { ...BAD, reason: 'act_chain_repeated_actor' });
  });

  it('a chain longer than maxDelegationDepth -> invalid_request', async () => {
    const act = { sub: 'a1', act: { sub: 'a2', act: { sub: 'a3', act: { sub: 'a4' } } } };
    expectDenied(await withClaims({ act }), { ...BAD, reason: 'act_chain_too_deep' });
  });

  it.each<[string, unknown]>([
    ['an array', [{ sub: 'planner' }]],
    ['a string', 'planner'],
    ['null', null],
    ['an object without sub', { client_id: 'planner' }],
    ['a numeric sub', { sub: 42 }],
    ['an empty sub', { sub: '' }],
    ['a malformed nested link', { sub: 'planner', act: ['x'] }],
  ])('act as %s -> invalid_request', async (_name, act) => {
    expectDenied(await withClaims({ act }), { ...BAD, reason: 'act_chain_malformed' });
  });
});

describe('may_act', () => {
  it('may_act naming another agent -> invalid_request', async () => {
    expectDenied(await withClaims({ may_act: { sub: 'key-agent' } }), { ...BAD, reason: 'may_act_mismatch' });
  });

  it('may_act naming this agent but another iss -> invalid_request', async () => {
    expectDenied(await withClaims({ may_act: { sub: 'support-agent', iss: 'https://other-broker.example' } }), { ...BAD, reason: 'may_act_mismatch' });
  });

  it('may_act as a bare string -> invalid_request', async () => {
    expectDenied(await withClaims({ may_act: 'support-agent' }), { ...BAD, reason: 'may_act_mismatch' });
  });
});

describe('actor tokens', () => {
  it('an agent not registered to present one sends actor_token -> invalid_request', async () => {
    const res = await bed.client.exchange(bed.support, {
      subject_token: await bed.userToken(), resource: CRM, scope: 'crm.accounts.read',
      actor_token: await workloads.sign(workloadClaims({ sub: 'support-agent' })), actor_token_type: JWT_TYPE,
    });
    expectDenied(res, { ...BAD, reason: 'actor_token_not_allowed' });
  });

  it('actor_token without actor_token_type -> invalid_request', async () => {
    expectDenied(await asActorAgent({ actor_token: await workloads.sign(workloadClaims()) }), { ...BAD, reason: 'actor_token_type_mismatch' });
  });

  it('actor_token_type without actor_token -> invalid_request', async () => {
    expectDenied(await asActorAgent({ actor_token_type: JWT_TYPE }), { ...BAD, reason: 'actor_token_type_mismatch' });
  });

  it('actor_token_type refresh_token -> invalid_request', async () => {
    expectDenied(await asActorAgent({ actor_token: await workloads.sign(workloadClaims()), actor_token_type: REFRESH_TOKEN_TYPE }), { ...BAD, reason: 'actor_token_type_unsupported' });
  });

  it('an actor token naming another agent (spliced from another chain) -> invalid_request', async () => {
    const res = await asActorAgent({ actor_token: await workloads.sign(workloadClaims({ sub: 'key-agent' })), actor_token_type: JWT_TYPE });
    expectDenied(res, { ...BAD, reason: 'actor_token_subject_mismatch' });
  });

  it('the user\'s own token replayed as actor_token -> invalid_request', async () => {
    const res = await asActorAgent({ actor_token: await bed.userToken(), actor_token_type: JWT_TYPE });
    expectDenied(res, { ...BAD, reason: 'actor_token_invalid' });
  });

  it('an expired actor token -> invalid_request', async () => {
    const now = Math.floor(Date.now() / 1000);
    const res = await asActorAgent({ actor_token: await workloads.sign(workloadClaims({ iat: now - 900, exp: now - 600 })), actor_token_type: JWT_TYPE });
    expectDenied(res, { ...BAD, reason: 'actor_token_invalid' });
  });

  it('an actor token for another audience -> invalid_request', async () => {
    const res = await asActorAgent({ actor_token: await workloads.sign(workloadClaims({ aud: 'https://elsewhere.example' })), actor_token_type: JWT_TYPE });
    expectDenied(res, { ...BAD, reason: 'actor_token_invalid' });
  });

  it('an actor token signed by an attacker key -> invalid_request', async () => {
    const res = await asActorAgent({ actor_token: await workloads.sign(workloadClaims(), { key: attackerKey }), actor_token_type: JWT_TYPE });
    expectDenied(res, { ...BAD, reason: 'actor_token_invalid' });
  });

  it('an unsigned (alg none) actor token -> invalid_request', async () => {
    const res = await asActorAgent({ actor_token: compactJws({ alg: 'none', typ: 'at+jwt' }, workloadClaims(), unsigned), actor_token_type: JWT_TYPE });
    expectDenied(res, { ...BAD, reason: 'actor_token_invalid' });
  });

  it('an actor token larger than limits.maxTokenChars -> invalid_request', async () => {
    const res = await asActorAgent({ actor_token: await workloads.sign(workloadClaims({ pad: 'x'.repeat(20_000) })), actor_token_type: JWT_TYPE });
    expectDenied(res, { ...BAD, reason: 'token_too_large' });
  });
});

describe('a DPoP-bound actor token (cnf in the workload token)', () => {
  /** actor-agent presents a workload token with `cnf`, and the DPoP header `dpop` if given. */
  async function boundActor(cnf: unknown, dpop?: string) {
    const params = { subject_token: await bed.userToken(), resource: CRM, scope: 'crm.accounts.read', actor_token: await workloads.sign(workloadClaims({ cnf })), actor_token_type: JWT_TYPE };
    return bed.client.exchange(actorAgent, params, dpop !== undefined ? { headers: { dpop }, secrets: [dpop] } : {});
  }
  const tokenUrl = () => `${bed.broker.issuer}/token`;

  it('is accepted with a proof from its key, and the new token is bound to it', async () => {
    const key = await dpopKey();
    const jkt = await calculateJwkThumbprint(key.publicJwk);
    const res = await boundActor({ jkt }, proof(key, { url: tokenUrl() }));
    expectGranted(res);
    expect(decodeJwt(res.body.access_token as string)).toMatchObject({ act: { sub: 'actor-agent' }, cnf: { jkt } });
  });

  it('without a proof -> 400 invalid_dpop_proof (actor_token_key_mismatch), no token, one denial record', async () => {
    const key = await dpopKey();
    const res = await boundActor({ jkt: await calculateJwkThumbprint(key.publicJwk) });
    expectDenied(res, { status: 400, error: 'invalid_dpop_proof', reason: 'actor_token_key_mismatch' });
  });

  it('with a proof from another key -> refused', async () => {
    const [key, thief] = [await dpopKey(), await dpopKey()];
    const res = await boundActor({ jkt: await calculateJwkThumbprint(key.publicJwk) }, proof(thief, { url: tokenUrl() }));
    expectDenied(res, { status: 400, error: 'invalid_dpop_proof', reason: 'actor_token_key_mismatch' });
  });

  it('bound by a method the broker cannot check (x5t#S256) -> invalid_request actor_token_invalid', async () => {
    const key = await dpopKey();
    const res = await boundActor({ 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' }, proof(key, { url: tokenUrl() }));
    expectDenied(res, { ...BAD, reason: 'actor_token_invalid' });
  });
});

describe('stripping act by re-exchange', () => {
  it('a broker-minted token (carrying act) presented back as subject_token -> invalid_request', async () => {
    const first = await withClaims({});
    expectGranted(first);
    const minted = first.body.access_token as string;
    expect(decodeJwt(minted).act).toEqual({ sub: 'support-agent' });
    const res = await bed.client.exchange(bed.keyAgent, { subject_token: minted, resource: CRM, scope: 'crm.accounts.read' });
    expectDenied(res, { ...BAD, reason: 'subject_token_untrusted_issuer' });
  });
});

describe('attribution hygiene', () => {
  it('no attribution record contains a raw token that was sent', () => {
    const all = JSON.stringify(bed.broker.sink.records);
    expect(bed.client.sent.size).toBeGreaterThan(10);
    for (const token of bed.client.sent) expect(all).not.toContain(token);
  });
});
