/**
 * Callers of the validator endpoints: validator keys (Bearer), admin keys, and RFC 7662 §2.1 standard client
 * authentication with a validator key entry (HTTP Basic, or private_key_jwt per RFC 7523 §3).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { hashKeySecret, newKeySecret } from '../../src/auth/key-hash.js';
import { createValidatorAuthenticator, JWT_BEARER_ASSERTION } from '../../src/auth/validator-authenticator.js';
import type { AuthFailureReason } from '../../src/auth/failure-ledger.js';
import type { ValidatorAuthenticator } from '../../src/introspection/validator-caller.js';
import { MemoryState } from '../../src/state/memory-state.js';
import { StateUnavailableError } from '../../src/state/shared-state.js';

const ISSUER = 'https://broker.example.com';
const INTROSPECT = `${ISSUER}/introspect`;
const CRM = 'https://crm.example.internal/api';
const secret = newKeySecret();
const adminSecret = newKeySecret();
let key: CryptoKey;
let jwk: JWK;
let otherKey: CryptoKey;
let authenticate: ValidatorAuthenticator;
const failures: AuthFailureReason[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  key = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'gw-1', alg: 'ES256' };
  otherKey = (await generateKeyPair('ES256')).privateKey;
  authenticate = createValidatorAuthenticator({
    validatorKeys: [
      { id: 'crm-service', hash: hashKeySecret(secret), resources: [CRM] },
      { id: 'gateway', jwks: { keys: [jwk] } },
    ],
    adminKeys: [{ id: 'oncall', hash: hashKeySecret(adminSecret) }],
    issuer: ISSUER, introspectionEndpoint: INTROSPECT, state: new MemoryState(), clockSkewSeconds: 10,
    onFailure: (reason) => { failures.push(reason); },
  });
});

const basic = (id: string, s: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(s)}`).toString('base64')}`;

function assertion(claims: { iss?: string; sub?: string; aud?: string } = {}, signer?: CryptoKey, lifetime = '2m') {
  return new SignJWT({ jti: crypto.randomUUID(), ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'gw-1' })
    .setIssuer(claims.iss ?? 'gateway').setSubject(claims.sub ?? 'gateway')
    .setAudience(claims.aud ?? INTROSPECT).setIssuedAt().setExpirationTime(lifetime)
    .sign(signer ?? key);
}

function jwtForm(token: string, extra: Record<string, string> = {}) {
  return new URLSearchParams({ client_assertion_type: JWT_BEARER_ASSERTION, client_assertion: token, token: 'x', ...extra });
}

describe('validator keys', () => {
  it('Bearer <id>.<secret>: the caller carries the key\'s resources (least disclosure, issue 14 item 7)', async () => {
    const caller = await authenticate({ authorization: `Bearer crm-service.${secret}` });
    expect(caller).toEqual({ id: 'crm-service', kind: 'validator_key', resources: new Set([CRM]) });
  });

  it('an admin key is a caller of every resource', async () => {
    expect(await authenticate({ authorization: `Bearer oncall.${adminSecret}` })).toEqual({ id: 'oncall', kind: 'admin_key' });
  });

  it('refuses wrong secrets, unknown ids and other shapes, and tells the ledger why', async () => {
    failures.length = 0;
    for (const authorization of [undefined, 'Bearer crm-service.' + newKeySecret(), `Bearer nobody.${secret}`, 'Bearer garbage', `Bearer gateway.${secret}`]) {
      expect(await authenticate({ authorization })).toBeUndefined();
    }
    expect(failures).toEqual(['missing', 'wrong_secret', 'unknown_id', 'malformed', 'unknown_id']);
  });
});

describe('HTTP Basic (client_secret_basic, RFC 6749 §2.3.1)', () => {
  it('accepts a validator key\'s id and secret', async () => {
    expect(await authenticate({ authorization: basic('crm-service', secret) })).toMatchObject({ id: 'crm-service', kind: 'validator_key' });
  });

  it('refuses a client_id in the body that names another client', async () => {
    expect(await authenticate({ authorization: basic('crm-service', secret), form: new URLSearchParams({ client_id: 'crm-service' }) })).toMatchObject({ id: 'crm-service' });
    expect(await authenticate({ authorization: basic('crm-service', secret), form: new URLSearchParams({ client_id: 'gateway' }) })).toBeUndefined();
  });

  it('refuses a wrong secret, an admin key (not a resource client) and malformed headers', async () => {
    for (const authorization of [basic('crm-service', newKeySecret()), basic('oncall', adminSecret), 'Basic !!!', `Basic ${Buffer.from('no-colon').toString('base64')}`]) {
      expect(await authenticate({ authorization })).toBeUndefined();
    }
  });
});

describe('private_key_jwt (RFC 7523 §3)', () => {
  it('accepts an assertion with iss = sub = the id, aud = the introspection endpoint or the issuer', async () => {
    expect(await authenticate({ authorization: undefined, form: jwtForm(await assertion()) })).toEqual({ id: 'gateway', kind: 'validator_key' });
    expect(await authenticate({ authorization: undefined, form: jwtForm(await assertion({ aud: ISSUER })) })).toMatchObject({ id: 'gateway' });
    expect(await authenticate({ authorization: undefined, form: jwtForm(await assertion(), { client_id: 'gateway' }) })).toMatchObject({ id: 'gateway' });
  });

  it('refuses a replayed assertion (jti claimed once)', async () => {
    const token = await assertion();
    expect(await authenticate({ authorization: undefined, form: jwtForm(token) })).toMatchObject({ id: 'gateway' });
    failures.length = 0;
    expect(await authenticate({ authorization: undefined, form: jwtForm(token) })).toBeUndefined();
    expect(failures).toEqual(['assertion_replayed']);
  });

  it('refuses wrong audience, iss != sub, wrong key, expired, too long-lived, no jti, another client_id, unknown id', async () => {
    const expired = await new SignJWT({ jti: 'e1' }).setProtectedHeader({ alg: 'ES256' }).setIssuer('gateway').setSubject('gateway')
      .setAudience(INTROSPECT).setIssuedAt(Math.floor(Date.now() / 1000) - 600).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(key);
    const noJti = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setIssuer('gateway').setSubject('gateway')
      .setAudience(INTROSPECT).setIssuedAt().setExpirationTime('2m').sign(key);
    const cases = [
      jwtForm(await assertion({ aud: 'https://elsewhere.example.com' })),
      jwtForm(await assertion({ sub: 'crm-service' })),
      jwtForm(await assertion({}, otherKey)),
      jwtForm(expired),
      jwtForm(await assertion({}, undefined, '1h')),
      jwtForm(noJti),
      jwtForm(await assertion(), { client_id: 'crm-service' }),
      jwtForm(await assertion({ iss: 'crm-service', sub: 'crm-service' })),
      new URLSearchParams({ client_assertion_type: 'urn:other', client_assertion: await assertion() }),
    ];
    for (const form of cases) expect(await authenticate({ authorization: undefined, form })).toBeUndefined();
  });

  it('refuses (never throws) when the replay check cannot be made: fails closed', async () => {
    const down = createValidatorAuthenticator({
      validatorKeys: [{ id: 'gateway', jwks: { keys: [jwk] } }], adminKeys: [], issuer: ISSUER, introspectionEndpoint: INTROSPECT,
      state: { claimOnce: () => Promise.reject(new StateUnavailableError('redis down')) }, clockSkewSeconds: 10,
    });
    expect(await down({ authorization: undefined, form: jwtForm(await assertion()) })).toBeUndefined();
  });

  it('refuses two authentication methods in one request (RFC 6749 §2.3)', async () => {
    expect(await authenticate({ authorization: `Bearer crm-service.${secret}`, form: jwtForm(await assertion()) })).toBeUndefined();
    expect(await authenticate({ authorization: undefined, form: new URLSearchParams({ client_id: 'crm-service', client_secret: secret }) })).toBeUndefined();
  });
});
