/**
 * What the broker exposes over HTTP beyond the exchange itself: discovery metadata built from the configured
 * issuer whatever Host / X-Forwarded-* a caller sends (RFC 8414 §3.3), security headers on every answer,
 * no CORS on anything but public metadata and keys, and 404 for every oidc-provider endpoint it does not use.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientAssertion, expectDenied, expectGranted, JWT_BEARER } from '../support/attack-kit.js';
import { startAttackBed, type AttackBed } from '../support/attack-bed.js';
import { UNUSED_ROUTES } from '../../src/provider/provider-surface.js';

let bed: AttackBed;

beforeAll(async () => {
  bed = await startAttackBed();
});

afterAll(async () => {
  await bed.close();
});

interface RawAnswer { readonly status: number; readonly headers: Record<string, string | string[] | undefined>; readonly body: string }

/** A raw HTTP/1.1 request (fetch cannot send an arbitrary Host header). */
function raw(path: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(`${bed.broker.issuer}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }); });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const METADATA = ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'];

const HOSTILE_HEADERS: Record<string, Record<string, string>> = {
  'Host': { host: 'evil.example' },
  'Host with a port': { host: 'evil.example:8443' },
  'X-Forwarded-Host and -Proto': { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
  'Forwarded': { forwarded: 'host=evil.example;proto=https' },
  'all at once': { host: 'evil.example', 'x-forwarded-host': 'evil2.example', 'x-forwarded-proto': 'https', forwarded: 'host=evil3.example' },
};

/** Every URL-valued member of a metadata document. */
function urlsIn(meta: Record<string, unknown>): string[] {
  return Object.values(meta).filter((v): v is string => typeof v === 'string' && /^[a-z]+:\/\//iu.test(v));
}

describe('discovery metadata', () => {
  for (const path of METADATA) {
    for (const [name, headers] of Object.entries(HOSTILE_HEADERS)) {
      it(`${path} names only the configured issuer with a hostile ${name}`, async () => {
        const res = await raw(path, 'GET', headers);
        expect(res.status).toBe(200);
        const meta = JSON.parse(res.body) as Record<string, unknown>;
        expect(meta.issuer).toBe(bed.broker.issuer);
        expect(meta.jwks_uri).toBe(`${bed.broker.issuer}/jwks`);
        expect(meta.token_endpoint).toBe(`${bed.broker.issuer}/token`);
        expect(meta.revocation_endpoint).toBe(`${bed.broker.issuer}/revoke`);
        const urls = urlsIn(meta);
        expect(urls.length).toBeGreaterThanOrEqual(5);
        for (const url of urls) expect(url === bed.broker.issuer || url.startsWith(`${bed.broker.issuer}/`), url).toBe(true);
        expect(res.body).not.toContain('evil');
      });
    }

    it(`${path} is cacheable for a bounded time and advertises no endpoint the broker does not serve`, async () => {
      const res = await raw(path, 'GET');
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      const meta = JSON.parse(res.body) as Record<string, unknown>;
      expect(meta.authorization_endpoint).toBeUndefined();
      // It stays readable by browser pages (public data, RFC 8414 §3).
      expect(res.headers['access-control-allow-origin']).toBe('*');
    });
  }
});

describe('client assertion audience', () => {
  /** A token request with a private_key_jwt assertion for `aud`, sent raw with `Host: evil.example`. */
  async function exchangeWithHost(aud: string) {
    const assertion = await clientAssertion(bed.keyAgent.clientId, bed.keyAgent.key, bed.keyAgent.kid, aud);
    const form = new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: await bed.userToken(),
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', resource: 'https://crm.example.test/api', scope: 'crm.accounts.read',
      client_id: bed.keyAgent.clientId, client_assertion: assertion, client_assertion_type: JWT_BEARER,
    });
    const before = bed.broker.sink.records.length;
    const res = await raw('/token', 'POST', { host: 'evil.example', 'content-type': 'application/x-www-form-urlencoded' }, form.toString());
    return { res, body: JSON.parse(res.body) as Record<string, unknown>, records: bed.broker.sink.records.slice(before) };
  }

  // oidc-provider derived the accepted `aud` values from the Host header: with `Host: evil.example`, an
  // assertion made out to http://evil.example/token (e.g. one obtained for another server) was accepted.
  it('an assertion for a Host-chosen token endpoint is refused (401 invalid_client, no token, one denial record)', async () => {
    const { res, body, records } = await exchangeWithHost('http://evil.example/token');
    expect(res.status, res.body).toBe(401);
    expect(body.error).toBe('invalid_client');
    expect(body.access_token).toBeUndefined();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ decision: 'denied', reason: 'client_authentication_failed', error: 'invalid_client' });
  });

  it('the same request with the audience the broker publishes is granted (control)', async () => {
    const { res, body, records } = await exchangeWithHost(`${bed.broker.issuer}/token`);
    expect(res.status, res.body).toBe(200);
    expect(body.access_token).toBeTypeOf('string');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ decision: 'granted' });
  });
});

const SECURITY = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

describe('security headers', () => {
  const cases: [string, string, string | undefined][] = [
    ['POST', '/token', 'grant_type=x'],
    ['GET', '/token', undefined],
    ['GET', '/jwks', undefined],
    ['GET', '/.well-known/oauth-authorization-server', undefined],
    ['GET', '/healthz', undefined],
    ['GET', '/readyz', undefined],
    ['GET', '/admin/revocations', undefined],
    ['POST', '/introspect', 'token=x'],
    ['POST', '/revoke', 'token=x'],
    ['GET', '/revocations/feed', undefined],
    ['GET', '/no-such-path', undefined],
    ['GET', '/auth', undefined],
  ];
  for (const [method, path, body] of cases) {
    it(`${method} ${path} carries nosniff, no-referrer and a CSP that allows nothing`, async () => {
      const res = await raw(path, method, body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }, body);
      expect(res.status).toBeGreaterThanOrEqual(200);
      expect(res.headers).toMatchObject(SECURITY);
    });
  }
});

describe('CORS', () => {
  it('a token request without Origin gets no Access-Control-Allow-Origin (denied, one record)', async () => {
    const res = await bed.client.exchange({ kind: 'none' }, { subject_token: await bed.userToken(), resource: 'https://crm.example.test/api', scope: 'crm.accounts.read' });
    expectDenied(res, { status: 401, error: 'invalid_client', reason: 'client_authentication_missing' });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-expose-headers')).toBeNull();
  });

  it('a granted token response carries no Access-Control-Allow-Origin', async () => {
    const res = await bed.client.exchange(bed.support, { subject_token: await bed.userToken(), resource: 'https://crm.example.test/api', scope: 'crm.accounts.read' });
    expectGranted(res);
    for (const [name, value] of Object.entries(SECURITY)) expect(res.headers.get(name)).toBe(value);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a token request from a browser origin is refused, with no Access-Control-Allow-Origin and no token', async () => {
    const res = await bed.client.exchange(bed.support, { subject_token: await bed.userToken(), resource: 'https://crm.example.test/api', scope: 'crm.accounts.read' }, { headers: { origin: 'https://evil.example' } });
    expectDenied(res, { status: 400, error: 'invalid_request', reason: 'request_malformed' });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  for (const path of ['/token', '/revoke', '/introspect']) {
    it(`a CORS preflight for ${path} is given no Access-Control-Allow-Origin`, async () => {
      const res = await raw(path, 'OPTIONS', { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-methods']).toBeUndefined();
    });
  }
});

describe('oidc-provider endpoints the broker does not use', () => {
  const paths = [
    ...Object.values(UNUSED_ROUTES),
    '/auth/some-uid', '/session/end/confirm', '/session/end/success', '/device/some-uid', '/reg/some-client',
    '/interaction/some-uid', '/interaction/some-uid/abort', '/.well-known/openid-credential-issuer',
    '/token/revocation',
    // oidc-provider's router ignores ASCII case and one trailing slash
    '/AUTH', '/Auth/', '/auth/', '/SESSION/END/CONFIRM', '/Me/', '/Token/Introspection',
  ];
  it('covers every route in oidc-provider\'s `routes` configuration but the three the broker uses', () => {
    expect(Object.keys(UNUSED_ROUTES).sort()).toEqual([
      'authorization', 'backchannel_authentication', 'challenge', 'code_verification', 'credential', 'device_authorization',
      'end_session', 'introspection', 'pushed_authorization_request', 'registration', 'userinfo',
    ]);
  });

  const notFound = () => raw('/certainly-not-a-route', 'GET');
  for (const path of paths) {
    for (const method of ['GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']) {
      it(`${method} ${path} answers 404 like an unknown path`, async () => {
        const headers: Record<string, string> = method === 'POST' || method === 'PUT' ? { 'content-type': 'application/x-www-form-urlencoded' } : {};
        if (method === 'OPTIONS') Object.assign(headers, { origin: 'https://evil.example', 'access-control-request-method': 'POST' });
        const res = await raw(`${path}${method === 'GET' ? '?client_id=support-agent&response_type=none&redirect_uri=https://evil.example/' : ''}`, method, headers, method === 'POST' || method === 'PUT' ? 'client_id=support-agent' : undefined);
        const unknown = await notFound();
        expect(res.status, res.body).toBe(404);
        if (method !== 'HEAD') expect(res.body).toBe(unknown.body);
        expect(res.headers['content-type']).toBe(method === 'HEAD' ? res.headers['content-type'] : unknown.headers['content-type']);
        expect(res.headers['location']).toBeUndefined();
        expect(res.headers['set-cookie']).toBeUndefined();
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
      });
    }
  }

  it('the endpoints the broker uses are still there', async () => {
    expect((await raw('/jwks', 'GET')).status).toBe(200);
    expect((await raw('/token', 'POST', { 'content-type': 'application/x-www-form-urlencoded' }, 'grant_type=x')).status).toBe(401);
    expect((await raw('/revoke', 'POST', { 'content-type': 'application/x-www-form-urlencoded' }, 'token=x')).status).toBe(401);
  });
});
