/**
 * Agent (client) authentication at the token endpoint (STANDARDS 11-13, 16): missing, wrong or ambiguous
 * credentials, unknown agents, replayed or ill-formed private_key_jwt assertions, suspended agents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, type CryptoKey } from 'jose';
import { clientAssertion, compactJws, expectDenied, expectGranted, JWT_BEARER, unsigned, type ClientAuth } from '../support/attack-kit.js';
import { secretAgent, startAttackBed, SUPPORT_SECRET, type AttackBed } from '../support/attack-bed.js';
import { keyAgent } from '../support/broker-harness.js';
import { CRM } from '../support/catalog.js';

const SUSPENDED_SECRET = 'suspended-agent-secret-for-attack-tests';

let bed: AttackBed;
let userToken: string;
let suspendedKey: { key: CryptoKey; kid: string };
let attackerKey: CryptoKey;

beforeAll(async () => {
  const suspendedSecretAgent = await secretAgent('suspended-agent', SUSPENDED_SECRET, { crm: ['crm.accounts.read'] }, { status: 'suspended' });
  const suspendedKeyAgent = await keyAgent('suspended-key-agent', { crm: ['crm.accounts.read'] }, { status: 'suspended' });
  suspendedKey = { key: suspendedKeyAgent.privateKey, kid: suspendedKeyAgent.kid };
  attackerKey = (await generateKeyPair('ES256')).privateKey;
  bed = await startAttackBed({ agents: [suspendedSecretAgent, suspendedKeyAgent.agent] });
  userToken = await bed.idp.userToken('alice');
});

afterAll(async () => {
  await bed.close();
});

const INVALID_CLIENT = { status: 401, error: 'invalid_client' } as const;
const BASIC_CHALLENGE = /^Basic\b/u;

function exchange(auth: ClientAuth, extra: Record<string, string | undefined> = {}, concurrent = false) {
  return bed.client.exchange(auth, { subject_token: userToken, resource: CRM, scope: 'crm.accounts.read', ...extra }, { concurrent });
}

/** key-agent's credentials with a hand-made assertion. */
function withAssertion(assertion: string, extra: Record<string, string | undefined> = {}) {
  return exchange(bed.keyAgent, { client_assertion: assertion, client_assertion_type: JWT_BEARER, ...extra });
}

function keyAgentAssertion(overrides: Parameters<typeof clientAssertion>[4] = {}) {
  return clientAssertion(bed.keyAgent.clientId, bed.keyAgent.key, bed.keyAgent.kid, bed.broker.issuer, overrides);
}

describe('missing and wrong credentials', () => {
  it('no client authentication at all -> 401 invalid_client with WWW-Authenticate', async () => {
    const record = expectDenied(await exchange({ kind: 'none' }), { ...INVALID_CLIENT, reason: 'client_authentication_missing', wwwAuthenticate: BASIC_CHALLENGE });
    expect(record.agent).toEqual({ client_id: null, authenticated: false });
  });

  it('client_id alone in the body (a public-client attempt) -> 401 invalid_client', async () => {
    const record = expectDenied(await exchange({ kind: 'none' }, { client_id: 'support-agent' }), { ...INVALID_CLIENT, reason: 'client_authentication_failed' });
    expect(record.agent.authenticated).toBe(false);
  });

  it('a wrong secret -> 401 invalid_client with WWW-Authenticate: Basic', async () => {
    const record = expectDenied(
      await exchange({ kind: 'basic', clientId: 'support-agent', secret: 'not-the-secret-at-all-0000' }),
      { ...INVALID_CLIENT, reason: 'client_authentication_failed', wwwAuthenticate: BASIC_CHALLENGE },
    );
    expect(record.agent).toEqual({ client_id: 'support-agent', authenticated: false });
  });

  it('a secret differing only in case -> 401 invalid_client with WWW-Authenticate: Basic', async () => {
    expectDenied(
      await exchange({ kind: 'basic', clientId: 'support-agent', secret: SUPPORT_SECRET.toUpperCase() }),
      { ...INVALID_CLIENT, reason: 'client_authentication_failed', wwwAuthenticate: BASIC_CHALLENGE },
    );
  });

  it('an unknown client id -> 401 invalid_client with WWW-Authenticate: Basic', async () => {
    const record = expectDenied(
      await exchange({ kind: 'basic', clientId: 'no-such-agent', secret: 'whatever-secret-value-0000' }),
      { ...INVALID_CLIENT, reason: 'agent_unknown', wwwAuthenticate: BASIC_CHALLENGE },
    );
    expect(record.agent.authenticated).toBe(false);
  });

  it('a secret sent for a private_key_jwt agent -> 401 invalid_client', async () => {
    expectDenied(
      await exchange({ kind: 'basic', clientId: 'key-agent', secret: 'guessing-a-secret-for-a-key-agent' }),
      { ...INVALID_CLIENT, reason: 'client_authentication_failed', wwwAuthenticate: BASIC_CHALLENGE },
    );
  });

  it('a malformed Basic header -> 400 invalid_request', async () => {
    const res = await bed.client.exchange({ kind: 'none' }, { subject_token: userToken, resource: CRM, scope: 'crm.accounts.read' }, { headers: { authorization: 'Basic !!!not-base64!!!' } });
    expectDenied(res, { status: 400, error: 'invalid_request', reason: 'request_malformed' });
  });
});

describe('more than one authentication method', () => {
  it('Basic header AND client_secret in the body -> 400 invalid_request', async () => {
    const res = await exchange(bed.support, { client_secret: SUPPORT_SECRET });
    expectDenied(res, { status: 400, error: 'invalid_request', reason: 'client_authentication_ambiguous' });
  });

  it('a client assertion AND client_secret in the body -> 400 invalid_request', async () => {
    const res = await exchange(bed.keyAgent, { client_secret: 'a-client-secret-in-the-body' });
    expectDenied(res, { status: 400, error: 'invalid_request', reason: 'client_authentication_ambiguous' });
  });

  it('Basic header AND a client assertion -> 400 invalid_request', async () => {
    const res = await exchange(bed.support, { client_assertion: await keyAgentAssertion(), client_assertion_type: JWT_BEARER });
    expectDenied(res, { status: 400, error: 'invalid_request', reason: 'client_authentication_ambiguous' });
  });
});

describe('private_key_jwt client assertions', () => {
  it('a fresh assertion is accepted (positive control)', async () => {
    expectGranted(await withAssertion(await keyAgentAssertion()));
  });

  it('the same assertion (same jti) a second time -> 401 invalid_client', async () => {
    const assertion = await keyAgentAssertion();
    expectGranted(await withAssertion(assertion));
    expectDenied(await withAssertion(assertion), { ...INVALID_CLIENT, reason: 'client_authentication_failed' });
  });

  it('a new assertion reusing a seen jti -> 401 invalid_client', async () => {
    const jti = crypto.randomUUID();
    expectGranted(await withAssertion(await keyAgentAssertion({ claims: { jti } })));
    expectDenied(await withAssertion(await keyAgentAssertion({ claims: { jti } })), { ...INVALID_CLIENT, reason: 'client_authentication_failed' });
  });

  it('an assertion for another audience -> 401 invalid_client', async () => {
    const assertion = await keyAgentAssertion({ claims: { aud: 'https://other-as.example/token' } });
    expectDenied(await withAssertion(assertion), { ...INVALID_CLIENT, reason: 'client_authentication_failed' });
  });

  it('an expired assertion -> 401 invalid_client', async () => {
    const now = Math.floor(Date.now() / 1000);
    const assertion = await keyAgentAssertion({ claims: { iat: now - 600, exp: now - 300 } });
    expectDenied(await withAssertion(assertion), { ...INVALID_CLIENT, reason: 'client_authentication_failed' });
  });

  it('an assertion without exp -> 401 invalid_client', async () => {
    const assertion = await keyAgentAssertion({ claims: { exp: undefined } });
    expectDenied(await withAssertion(assertion), { ...INVALID_CLIENT, reason: 'client_authentication_failed' });
  });

  it('an assertion without jti -> 401 invalid_client', async () => {
    const assertion = await keyAgentAssertion({ claims: { jti: undefined } });
    expectDenied(await withAssertion(assertion), { ...INVALID_CLIENT, reason: 'client_authentication_failed' });
  });

  it('an assertion whose iss differs from sub -> 401 invalid_client', async () => {
    const assertion = await keyAgentAssertion({ claims: { iss: 'support-agent' } });
    expectDenied(await withAssertion(assertion), { ...INVALID_CLIENT, reason: 'client_authentication_failed' });
  });

  it('an assertion signed by a key the agent did not register -> 401 invalid_client', async () => {
    const assertion = await clientAssertion('key-agent', attackerKey, bed.keyAgent.kid, bed.broker.issuer);
    expectDenied(await withAssertion(assertion), { ...INVALID_CLIENT, reason: 'client_authentication_failed' });
  });

  it('an unsigned (alg none) assertion -> 401 invalid_client', async () => {
    const now = Math.floor(Date.now() / 1000);
    const assertion = compactJws({ alg: 'none' }, { iss: 'key-agent', sub: 'key-agent', aud: bed.broker.issuer, jti: crypto.randomUUID(), iat: now, exp: now + 60 }, unsigned);
    expectDenied(await withAssertion(assertion), { ...INVALID_CLIENT, reason: 'client_authentication_failed' });
  });

  it('an assertion for a client_secret_basic agent -> 401 invalid_client', async () => {
    const assertion = await clientAssertion('support-agent', attackerKey, 'k', bed.broker.issuer);
    expectDenied(await withAssertion(assertion), { ...INVALID_CLIENT, reason: 'client_authentication_failed' });
  });

  it('an assertion with a wrong client_assertion_type -> 400 invalid_request', async () => {
    const res = await withAssertion(await keyAgentAssertion(), { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' });
    expectDenied(res, { status: 400, error: 'invalid_request', reason: 'request_malformed' });
  });
});

describe('suspended agents', () => {
  it('a suspended client_secret_basic agent with the right secret -> 400 unauthorized_client', async () => {
    const record = expectDenied(
      await exchange({ kind: 'basic', clientId: 'suspended-agent', secret: SUSPENDED_SECRET }),
      { status: 400, error: 'unauthorized_client', reason: 'agent_suspended' },
    );
    expect(record.agent).toEqual({ client_id: 'suspended-agent', authenticated: true });
  });

  it('a suspended private_key_jwt agent with a valid assertion -> 400 unauthorized_client', async () => {
    const auth: ClientAuth = { kind: 'private_key_jwt', clientId: 'suspended-key-agent', key: suspendedKey.key, kid: suspendedKey.kid };
    expectDenied(await exchange(auth), { status: 400, error: 'unauthorized_client', reason: 'agent_suspended' });
  });
});

describe('an agent whose grant is withdrawn (grant_types)', () => {
  it('grant_types: [] keeps the registration but refuses token exchange -> 400 unauthorized_client', async () => {
    const active = bed.broker.agents.get('support-agent')!;
    try {
      bed.broker.agents.set('support-agent', { ...active, grantTypes: [] });
      const record = expectDenied(await exchange(bed.support), { status: 400, error: 'unauthorized_client', reason: 'agent_not_allowed_grant' });
      expect(record.agent).toEqual({ client_id: 'support-agent', authenticated: true });
      // Wrong credentials still fail as authentication, not as the grant.
      expectDenied(
        await exchange({ kind: 'basic', clientId: 'support-agent', secret: `${SUPPORT_SECRET}-wrong` }),
        { ...INVALID_CLIENT, reason: 'client_authentication_failed', wwwAuthenticate: BASIC_CHALLENGE },
      );
      bed.broker.agents.set('support-agent', { ...active, grantTypes: ['urn:ietf:params:oauth:grant-type:token-exchange'] });
      expectGranted(await exchange(bed.support));
    } finally {
      bed.broker.agents.set('support-agent', active);
    }
  });
});

describe('an agent suspended while it is working', () => {
  it('is refused on its very next request, and requests racing the suspension stay consistent', async () => {
    const active = bed.broker.agents.get('support-agent')!;
    try {
      expectGranted(await exchange(bed.support));

      // Load: 30 requests in flight; the suspension lands as soon as the first one has been answered.
      const inFlight = Array.from({ length: 30 }, () => exchange(bed.support, {}, true));
      await Promise.race(inFlight);
      bed.broker.agents.set('support-agent', { ...active, status: 'suspended' });
      const afterwards = await Promise.all(Array.from({ length: 10 }, () => exchange(bed.support, {}, true)));
      const racing = await Promise.all(inFlight);

      for (const res of afterwards) expectDenied(res, { status: 400, error: 'unauthorized_client', reason: 'agent_suspended' });
      // Requests already in flight may land on either side, but each answer matches its one record.
      for (const res of racing) {
        if (res.status === 200) expect(expectGranted(res).agent.client_id).toBe('support-agent');
        else expectDenied(res, { status: 400, error: 'unauthorized_client', reason: 'agent_suspended' });
      }
      expect(racing.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    } finally {
      bed.broker.agents.set('support-agent', active);
    }
  });
});

describe('attribution hygiene', () => {
  it('no attribution record contains a secret, assertion or token that was sent', () => {
    const all = JSON.stringify(bed.broker.sink.records);
    expect(bed.client.sent.has(SUPPORT_SECRET)).toBe(true);
    for (const secret of bed.client.sent) expect(all).not.toContain(secret);
  });
});
