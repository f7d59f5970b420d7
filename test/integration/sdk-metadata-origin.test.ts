/**
 * Both SDKs use only endpoints at the issuer's origin. A "broker" whose metadata (issuer correct) points the
 * token endpoint, the JWKS or the revocation feed at a second, real HTTP server is refused at start-up, and
 * the second server never hears from the SDK: no client secret, user token or validator key goes there.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SignJWT, generateKeyPair } from 'jose';
import { AgentClient } from '../../src/sdk/agent/index.js';
import { TokenValidator } from '../../src/sdk/validator/index.js';
import { startCanary, type Canary } from '../support/attack-kit.js';

interface FakeBroker { readonly url: string; close(): Promise<void> }

/** Serves `metadata(url)` at both well-known paths, 404 otherwise. */
async function startFakeBroker(metadata: (url: string) => Record<string, unknown>): Promise<FakeBroker> {
  let url = '';
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/.well-known/oauth-authorization-server' || req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(metadata(url)));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: async () => { server.closeAllConnections(); await new Promise<void>((r) => server.close(() => { r(); })); } };
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function setup(point: (elsewhere: string) => Record<string, string>): Promise<{ broker: FakeBroker; elsewhere: Canary }> {
  const elsewhere = await startCanary({ keys: [] });
  const broker = await startFakeBroker((url) => ({
    issuer: url,
    token_endpoint: `${url}/token`,
    jwks_uri: `${url}/jwks`,
    revocation_feed_endpoint: `${url}/revocations/stream`,
    grant_types_supported: ['urn:ietf:params:oauth:grant-type:token-exchange'],
    ...point(elsewhere.url),
  }));
  open.push(elsewhere, broker);
  return { broker, elsewhere };
}

describe('agent SDK', () => {
  const cases: [string, (e: string) => Record<string, string>][] = [
    ['token_endpoint at another origin (same host, another port)', (e) => ({ token_endpoint: `${e}/token` })],
    ['revocation_endpoint elsewhere', (e) => ({ revocation_endpoint: `${e}/revoke` })],
  ];
  for (const [name, point] of cases) {
    it(`refuses metadata with ${name}, and nothing reaches the other server`, async () => {
      const { broker, elsewhere } = await setup(point);
      const attempt = AgentClient.create({ issuer: broker.url, clientId: 'agent', auth: { clientSecret: 'a-client-secret-never-sent' }, allowInsecureLoopback: true })
        .then((client) => client.getToken({ subjectToken: 'user-token', tool: 'https://crm.example.test/api', scope: 'crm.accounts.read' }));
      await expect(attempt).rejects.toThrow(/outside the issuer's origin/u);
      expect(elsewhere.hits()).toBe(0);
    });
  }

  it('token_endpoint with a userinfo part at the issuer host is refused too', async () => {
    const { broker } = await setup(() => ({}));
    const tricky = await startFakeBroker((url) => ({ issuer: url, token_endpoint: url.replace('http://', 'http://user:pw@') + '/token' }));
    open.push(tricky);
    await expect(AgentClient.create({ issuer: tricky.url, clientId: 'agent', auth: { clientSecret: 'a-client-secret-never-sent' }, allowInsecureLoopback: true }))
      .rejects.toThrow(/outside the issuer's origin/u);
    // the same document without the trick is accepted
    await expect(AgentClient.create({ issuer: broker.url, clientId: 'agent', auth: { clientSecret: 'a-client-secret-never-sent' }, allowInsecureLoopback: true })).resolves.toBeInstanceOf(AgentClient);
  });
});

describe('validator SDK', () => {
  async function someToken(issuer: string): Promise<string> {
    const { privateKey } = await generateKeyPair('ES256');
    return new SignJWT({ client_id: 'agent', jti: 'j' }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k' })
      .setIssuer(issuer).setSubject('alice').setAudience('https://crm.example.test/api').setIssuedAt().setExpirationTime('5m').sign(privateKey);
  }

  it('refuses metadata whose jwks_uri is elsewhere; the other server is never asked for keys', async () => {
    const { broker, elsewhere } = await setup((e) => ({ jwks_uri: `${e}/jwks` }));
    const attempt = TokenValidator.create({ issuer: broker.url, resource: 'https://crm.example.test/api', revocation: false })
      .then(async (v) => v.validate(`Bearer ${await someToken(broker.url)}`));
    await expect(attempt).rejects.toThrow(/jwks_uri .* outside the issuer's origin/u);
    expect(elsewhere.hits()).toBe(0);
  });

  it('refuses metadata whose revocation feed is elsewhere; the validator key is never sent there', async () => {
    const { broker, elsewhere } = await setup((e) => ({ revocation_feed_endpoint: `${e}/revocations/stream` }));
    const attempt = TokenValidator.create({ issuer: broker.url, resource: 'https://crm.example.test/api', revocation: { key: 'validator.secret-never-sent', graceMs: 500 }, fetchTimeoutMs: 1000 });
    await expect(attempt).rejects.toThrow(/revocation_feed_endpoint .* outside the issuer's origin/u);
    expect(elsewhere.hits()).toBe(0);
  });

  it('an explicitly configured jwksUri is the operator\'s choice and is used', async () => {
    const { broker, elsewhere } = await setup(() => ({}));
    const validator = await TokenValidator.create({ issuer: broker.url, resource: 'https://crm.example.test/api', revocation: false, jwksUri: `${elsewhere.url}/jwks` });
    await expect(validator.validate(`Bearer ${await someToken(broker.url)}`)).rejects.toMatchObject({ status: 401 });
    expect(elsewhere.paths()).toEqual(['/jwks']);
  });
});
