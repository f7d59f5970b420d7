import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../../src/domain/agent.js';
import type { RawParams } from '../../../src/domain/exchange.js';
import { AgentSecretChecker } from '../../../src/auth/agent-secret-guard.js';
import { FailureThrottle } from '../../../src/auth/failure-throttle.js';
import { SecretCheckGate } from '../../../src/auth/secret-check-gate.js';
import { hashClientSecret } from '../../../src/provider/client-secret-hash.js';
import { memoryReplayCache, type AssertionReplayCache } from '../../../src/provider/assertion-replay.js';
import { MemoryState } from '../../../src/state/memory-state.js';
import { clientAuthentication, JWT_BEARER_ASSERTION, type ClientAuthenticationDeps } from '../../../src/token-endpoint/steps/client-authentication.js';
import { makeAgent } from '../../exchange/fixtures.js';
import { denialOf, httpRequest, refusalOf, runStep, START } from './step-kit.js';

const ISSUER = 'https://broker.example';
const SECRET = 'the-right-secret-0123456789';

let secretAgent: Agent;
let keyAgent: Agent;
let agentKey: CryptoKey;

beforeAll(async () => {
  secretAgent = { ...makeAgent({ clientId: 'secret-agent' }), authentication: { method: 'client_secret_basic', secretHash: await hashClientSecret(SECRET) } };
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  agentKey = privateKey;
  keyAgent = { ...makeAgent({ clientId: 'key-agent' }), authentication: { method: 'private_key_jwt', jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] } } };
});

function deps(overrides: Partial<ClientAuthenticationDeps> = {}): ClientAuthenticationDeps {
  return {
    agents: () => ({ agents: new Map([[secretAgent.clientId, secretAgent], [keyAgent.clientId, keyAgent]]) }),
    issuer: ISSUER, tokenEndpoint: `${ISSUER}/token`,
    secrets: new AgentSecretChecker({ gate: new SecretCheckGate(), throttle: new FailureThrottle(new MemoryState()) }),
    assertionReplay: memoryReplayCache(), clockSkewSeconds: 30, now: Date.now,
    ...overrides,
  };
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const authenticate = (form: RawParams, req: Parameters<typeof httpRequest>[0] = {}, d = deps()) => runStep(clientAuthentication, { ...START, form }, d, httpRequest(req));

function assertion(claims: JWTPayload = {}, key: CryptoKey = agentKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: 'key-agent', sub: 'key-agent', aud: ISSUER, jti: randomUUID(), iat: now, exp: now + 60, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(key);
}
const withAssertion = (value: string, extra: RawParams = {}) => ({ client_assertion: value, client_assertion_type: JWT_BEARER_ASSERTION, ...extra });

describe('step client-authentication: client_secret_basic', () => {
  it('the right secret establishes the agent', async () => {
    expect(await authenticate({}, { authorization: basic('secret-agent', SECRET) })).toEqual({ clientId: 'secret-agent', agent: secretAgent });
  });

  it('a wrong secret: 401 invalid_client with a Basic challenge; the client id is kept for the record', async () => {
    const refused = refusalOf(await authenticate({}, { authorization: basic('secret-agent', 'wrong-secret-value') }));
    expect(refused?.denial).toMatchObject({ reason: 'client_authentication_failed', error: 'invalid_client' });
    expect(refused?.headers?.['WWW-Authenticate']).toMatch(/^Basic realm="https:\/\/broker\.example"/u);
    expect(refused?.established).toEqual({ clientId: 'secret-agent' });
  });

  it('an unknown id: agent_unknown; a secret for a private_key_jwt agent: client_authentication_failed', async () => {
    expect(denialOf(await authenticate({}, { authorization: basic('nobody', 'some-secret') }))).toMatchObject({ reason: 'agent_unknown', error: 'invalid_client' });
    expect(denialOf(await authenticate({}, { authorization: basic('key-agent', 'some-secret') }))?.reason).toBe('client_authentication_failed');
  });

  it('a malformed header or a client_id that disagrees with it: 400 request_malformed', async () => {
    expect(denialOf(await authenticate({}, { authorization: 'Basic !!!not-base64!!!' }))).toMatchObject({ reason: 'request_malformed', error: 'invalid_request' });
    expect(denialOf(await authenticate({}, { authorization: 'Bearer abc' }))?.reason).toBe('request_malformed');
    expect(denialOf(await authenticate({ client_id: 'key-agent' }, { authorization: basic('secret-agent', SECRET) }))?.reason).toBe('request_malformed');
  });

  it('after too many failures from one address: 429 client_authentication_throttled with Retry-After, before any hashing', async () => {
    const d = deps({ secrets: new AgentSecretChecker({ gate: new SecretCheckGate(), throttle: new FailureThrottle(new MemoryState(), { perAddress: { limit: 1, windowMs: 60_000 }, perClient: { limit: 100, windowMs: 60_000 } }) }) });
    await authenticate({}, { authorization: basic('secret-agent', 'wrong-1') }, d);
    const refused = refusalOf(await authenticate({}, { authorization: basic('secret-agent', SECRET) }, d));
    expect(refused?.denial).toMatchObject({ reason: 'client_authentication_throttled', error: 'temporarily_unavailable' });
    expect(Number(refused?.headers?.['Retry-After'])).toBeGreaterThan(0);
  });

  it('the hash gate full: 503 client_authentication_busy with Retry-After', async () => {
    const d = deps({ secrets: new AgentSecretChecker({ gate: new SecretCheckGate({ ratePerSecond: 0.001, burst: 1 }), throttle: new FailureThrottle(new MemoryState()) }) });
    await authenticate({}, { authorization: basic('secret-agent', 'wrong-1') }, d);
    const refused = refusalOf(await authenticate({}, { authorization: basic('secret-agent', 'wrong-2') }, d));
    expect(refused?.denial).toMatchObject({ reason: 'client_authentication_busy', error: 'temporarily_unavailable' });
    expect(refused?.headers?.['Retry-After']).toBeDefined();
  });
});

describe('step client-authentication: one method, or none', () => {
  it('no credentials: 401 client_authentication_missing with a Basic challenge', async () => {
    const refused = refusalOf(await authenticate({}));
    expect(refused?.denial).toMatchObject({ reason: 'client_authentication_missing', error: 'invalid_client' });
    expect(refused?.headers).toEqual({ 'WWW-Authenticate': 'Basic realm="token"' });
  });

  it('a client_id alone (or with a body client_secret, a method not offered): client_authentication_failed', async () => {
    expect(denialOf(await authenticate({ client_id: 'secret-agent' }))?.reason).toBe('client_authentication_failed');
    expect(denialOf(await authenticate({ client_id: 'secret-agent', client_secret: SECRET }))?.reason).toBe('client_authentication_failed');
  });

  it('two methods at once: 400 client_authentication_ambiguous (RFC 6749 §2.3)', async () => {
    expect(denialOf(await authenticate({ client_secret: SECRET }, { authorization: basic('secret-agent', SECRET) })))
      .toMatchObject({ reason: 'client_authentication_ambiguous', error: 'invalid_request' });
    expect(denialOf(await authenticate(withAssertion(await assertion()), { authorization: basic('secret-agent', SECRET) }))?.reason).toBe('client_authentication_ambiguous');
    expect(denialOf(await authenticate(withAssertion(await assertion(), { client_secret: 'x' })))?.reason).toBe('client_authentication_ambiguous');
  });

  it('a repeated client authentication parameter: request_malformed', async () => {
    expect(denialOf(await authenticate({ client_id: ['a', 'b'] }))?.reason).toBe('request_malformed');
  });

  it('from a browser origin: request_malformed, before the credentials are checked', async () => {
    const refused = refusalOf(await authenticate({}, { authorization: basic('secret-agent', SECRET), origin: 'https://evil.example' }));
    expect(refused?.denial.reason).toBe('request_malformed');
  });
});

describe('step client-authentication: private_key_jwt (RFC 7523 §3)', () => {
  it('a fresh assertion establishes the agent; the same jti again is refused (shared replay cache)', async () => {
    const d = deps();
    const value = await assertion();
    expect(await authenticate(withAssertion(value), {}, d)).toEqual({ clientId: 'key-agent', agent: keyAgent });
    expect(denialOf(await authenticate(withAssertion(value), {}, d))).toMatchObject({ reason: 'client_authentication_failed', error: 'invalid_client' });
  });

  it('the token endpoint URL is an accepted audience too; any other audience is refused', async () => {
    expect(await authenticate(withAssertion(await assertion({ aud: `${ISSUER}/token` })))).toHaveProperty('agent');
    expect(await authenticate(withAssertion(await assertion({ aud: ['https://other.example', ISSUER] })))).toHaveProperty('agent');
    expect(denialOf(await authenticate(withAssertion(await assertion({ aud: 'https://other.example/token' }))))?.reason).toBe('client_authentication_failed');
  });

  it.each([
    ['expired', { exp: Math.floor(Date.now() / 1000) - 300, iat: Math.floor(Date.now() / 1000) - 600 }],
    ['without exp', { exp: undefined }],
    ['without jti', { jti: undefined }],
    ['iss differing from sub', { iss: 'secret-agent' }],
    ['not yet valid', { nbf: Math.floor(Date.now() / 1000) + 600 }],
  ])('an assertion %s: client_authentication_failed', async (_name, claims) => {
    expect(denialOf(await authenticate(withAssertion(await assertion(claims))))?.reason).toBe('client_authentication_failed');
  });

  it('signed by a key the agent did not register, or not a JWS at all: client_authentication_failed', async () => {
    const other = (await generateKeyPair('ES256')).privateKey;
    expect(denialOf(await authenticate(withAssertion(await assertion({}, other))))?.reason).toBe('client_authentication_failed');
    expect(denialOf(await authenticate(withAssertion('not-a-jwt')))?.reason).toBe('client_authentication_failed');
  });

  it('for an unknown agent: agent_unknown; for a client_secret_basic agent: client_authentication_failed', async () => {
    expect(denialOf(await authenticate(withAssertion(await assertion({ iss: 'nobody', sub: 'nobody' }))))?.reason).toBe('agent_unknown');
    expect(denialOf(await authenticate(withAssertion(await assertion({ iss: 'secret-agent', sub: 'secret-agent' }))))?.reason).toBe('client_authentication_failed');
  });

  it('client_assertion_type missing or wrong, or a client_id naming another agent: request_malformed', async () => {
    const value = await assertion();
    expect(denialOf(await authenticate({ client_assertion: value }))?.reason).toBe('request_malformed');
    expect(denialOf(await authenticate({ client_assertion: value, client_assertion_type: 'urn:other' }))?.reason).toBe('request_malformed');
    expect(denialOf(await authenticate(withAssertion(value, { client_id: 'secret-agent' })))?.reason).toBe('request_malformed');
  });

  it('the replay cache unreachable: state_unavailable (fail closed)', async () => {
    const down: AssertionReplayCache = { unique: () => Promise.reject(new Error('redis down')) };
    expect(denialOf(await authenticate(withAssertion(await assertion()), {}, deps({ assertionReplay: down }))))
      .toMatchObject({ reason: 'state_unavailable', error: 'temporarily_unavailable' });
  });
});
