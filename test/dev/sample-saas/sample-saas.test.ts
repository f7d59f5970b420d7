/**
 * The sample SaaS against real clients: its own oidc-provider authorization server (assertion grants trusting
 * a real issuer's JWKS standing in for the broker, authorization code + PKCE through its pages, rotating
 * refresh tokens) and its API's own per-user rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { randomUUID } from 'node:crypto';
import { saasClient, startSampleSaas, type SampleSaas } from '../../../src/dev/sample-saas/sample-saas.js';
import { JWT_BEARER_GRANT, JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../../src/dev/sample-saas/assertion-grants.js';
import { startTestIssuer, type TestIssuer } from '../../support/test-issuer.js';
import { loginAndConsent } from '../../support/saas-login.js';

const SECRET = 'test-saas-secret';
const REDIRECT = 'http://127.0.0.1:9/callback';
// eslint-disable-next-line @typescript-eslint/no-deprecated -- plain http only on loopback (tests)
const INSECURE_LOOPBACK = { execute: [oidc.allowInsecureRequests] };
let broker: TestIssuer;
let saas: SampleSaas;

beforeAll(async () => {
  broker = await startTestIssuer();
  saas = await startSampleSaas({ brokerIssuer: broker.issuer, brokerJwksUrl: broker.jwksUri, clients: [saasClient({ clientId: 'token-broker', secret: SECRET, redirectUris: [REDIRECT] })] });
});
afterAll(async () => {
  await saas.close();
  await broker.close();
});

const basic = `Basic ${Buffer.from(`token-broker:${SECRET}`).toString('base64')}`;
async function grant(form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(saas.tokenEndpoint, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const assertion = (sub: string, extra: Record<string, unknown> = {}, typ = 'JWT'): Promise<string> => {
  const now = Math.floor(Date.now() / 1000);
  return broker.sign({ iss: broker.issuer, sub, aud: saas.issuer, iat: now, exp: now + 60, jti: randomUUID(), ...extra }, { header: { typ } });
};
async function api(method: 'GET' | 'POST', id: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${saas.apiResource}/accounts/${id}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('sample SaaS: assertion grants', () => {
  it('jwt-bearer for alice: A readable and writable, B not', async () => {
    const r = await grant({ grant_type: JWT_BEARER_GRANT, assertion: await assertion('alice'), scope: 'accounts:read accounts:write' });
    expect(r.status).toBe(200);
    expect(r.body.scope).toBe('accounts:read accounts:write');
    const token = String(r.body.access_token);
    expect((await api('GET', 'A', token)).status).toBe(200);
    expect((await api('GET', 'B', token)).body.error).toBe('forbidden');
    expect((await api('POST', 'A', token)).status).toBe(200);
  });

  it('token exchange for bob: narrowed to read; a write is insufficient_scope; write alone is refused', async () => {
    const r = await grant({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: await assertion('bob'), subject_token_type: JWT_TOKEN_TYPE, scope: 'accounts:read accounts:write' });
    expect(r.status).toBe(200);
    expect(r.body.scope).toBe('accounts:read');
    expect(r.body.issued_token_type).toBe('urn:ietf:params:oauth:token-type:access_token');
    const token = String(r.body.access_token);
    expect((await api('GET', 'B', token)).status).toBe(200);
    const write = await api('POST', 'A', token);
    expect([write.status, write.body.error]).toEqual([403, 'insufficient_scope']);
    const refused = await grant({ grant_type: JWT_BEARER_GRANT, assertion: await assertion('bob'), scope: 'accounts:write' });
    expect([refused.status, refused.body.error]).toEqual([400, 'invalid_scope']);
  });

  it('refuses replays, unknown users, wrong typ, wrong audience, other issuers', async () => {
    const once = await assertion('alice');
    expect((await grant({ grant_type: JWT_BEARER_GRANT, assertion: once, scope: 'accounts:read' })).status).toBe(200);
    const cases = [
      once,
      await assertion('mallory'),
      await assertion('alice', {}, 'at+jwt'),
      await assertion('alice', { aud: 'http://elsewhere' }),
      await assertion('alice', { iss: 'http://elsewhere' }),
      await assertion('alice', { client_id: 'another-client' }),
    ];
    for (const a of cases) {
      const r = await grant({ grant_type: JWT_BEARER_GRANT, assertion: a, scope: 'accounts:read' });
      expect([r.status, r.body.error, r.body.access_token]).toEqual([400, 'invalid_grant', undefined]);
    }
  });

  it('the API refuses a token it did not issue', async () => {
    const foreign = await broker.sign({ iss: saas.issuer, sub: 'alice', aud: saas.apiResource, scope: 'accounts:read', exp: Math.floor(Date.now() / 1000) + 60 }, { header: { typ: 'at+jwt' } });
    const r = await api('GET', 'A', foreign);
    expect([r.status, r.body.error]).toEqual([401, 'invalid_token']);
  });
});

describe('sample SaaS: authorization code + PKCE, rotating refresh tokens', () => {
  it('logs in, consents, exchanges the code, rotates the refresh token once', async () => {
    const config = await oidc.discovery(new URL(saas.issuer), 'token-broker', undefined, oidc.ClientSecretBasic(SECRET), INSECURE_LOOPBACK);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'accounts:read', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, resource: saas.apiResource });
    const callback = await loginAndConsent(url, { username: 'alice', password: 'alice-saas' });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.refresh_token).toBeTruthy();
    expect((await api('GET', 'A', tokens.access_token)).status).toBe(200);
    const rotated = await oidc.refreshTokenGrant(config, String(tokens.refresh_token));
    expect(rotated.refresh_token).toBeTruthy();
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    expect((await api('GET', 'A', rotated.access_token)).status).toBe(200);
    await expect(oidc.refreshTokenGrant(config, String(tokens.refresh_token))).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('a wrong password stays on the login page', async () => {
    const config = await oidc.discovery(new URL(saas.issuer), 'token-broker', undefined, oidc.ClientSecretBasic(SECRET), INSECURE_LOOPBACK);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'accounts:read', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 's' });
    await expect(loginAndConsent(url, { username: 'alice', password: 'nope' })).rejects.toThrow(/too many redirects|flow stopped/);
  });
});
