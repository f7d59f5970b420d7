/**
 * The callers of `/introspect`, end to end through a running broker (issue 14 item 7, issue 15 item 5):
 *   - a validator key scoped to `resources` sees only those tools' tokens (least disclosure);
 *   - a resource client authenticating with private_key_jwt (RFC 7523 §2.2, RFC 7662 §2.1): the assertion is a
 *     JWT entering the broker, so it is strictly parsed like every other (duplicate claims refused), and its
 *     `jti` is claimed once.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { secretAgent } from '../support/attack-bed.js';
import { asymmetricSigner, compactJwsRaw, JWT_BEARER } from '../support/attack-kit.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog, TICKETS } from '../support/catalog.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';

const SECRET = 'introspection-callers-agent-secret';
let idp: UpstreamIdp;
let broker: RunningTestBroker;
let crmOnly: { key: string; hash: string };
let gatewayKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let crmToken: string;
let ticketsToken: string;

async function mint(resource: string, scope: string): Promise<string> {
  const res = await rawPost(broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE, resource, scope }), { authorization: basic('both-agent', SECRET) });
  expect(res.status).toBe(200);
  return String(res.body.access_token);
}

beforeAll(async () => {
  crmOnly = await createAdminKey('crm-only');
  const pair = await generateKeyPair('ES256', { extractable: true });
  gatewayKey = pair.privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'gw-1', alg: 'ES256', use: 'sig' };
  const reserved = await reserveBroker();
  idp = await startUpstreamIdp({ audience: reserved.issuer });
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)],
    catalog: testCatalog(),
    agents: [await secretAgent('both-agent', SECRET, { crm: ['crm.accounts.read'], tickets: ['tickets.read'] })],
    config: {
      validatorKeys: [
        { id: 'crm-only', hash: crmOnly.hash, resources: [CRM] },
        { id: 'jwt-gateway', jwks: { keys: [jwk] } },
      ],
    },
  });
  crmToken = await mint(CRM, 'crm.accounts.read');
  ticketsToken = await mint(TICKETS, 'tickets.read');
});
afterAll(async () => {
  await broker.close();
  await idp.close();
});

async function introspect(token: string, auth: { authorization?: string; params?: Record<string, string> }) {
  const res = await fetch(`${broker.issuer}/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(auth.authorization ? { authorization: auth.authorization } : {}) },
    body: form({ token, ...auth.params }),
  });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

describe('a validator key scoped to resources', () => {
  it('introspects its own tool\'s token, and sees another tool\'s live token as exactly {"active":false}', async () => {
    const own = await introspect(crmToken, { authorization: `Bearer ${crmOnly.key}` });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ active: true, aud: CRM, sub: 'alice' });
    const foreign = await introspect(ticketsToken, { authorization: `Bearer ${crmOnly.key}` });
    expect(foreign.status).toBe(200);
    expect(foreign.body).toEqual({ active: false });
  });
});

describe('a resource client with private_key_jwt', () => {
  const assertion = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'gw-1' }).sign(gatewayKey);
  const fresh = () => {
    const now = Math.floor(Date.now() / 1000);
    return { iss: 'jwt-gateway', sub: 'jwt-gateway', aud: `${broker.issuer}/introspect`, iat: now, exp: now + 60, jti: randomUUID() };
  };
  const withAssertion = (jwt: string) => ({ params: { client_assertion_type: JWT_BEARER, client_assertion: jwt } });

  it('introspects with a signed assertion, and the same assertion is refused the second time (jti claimed once)', async () => {
    const jwt = await assertion(fresh());
    const first = await introspect(ticketsToken, withAssertion(jwt));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ active: true, aud: TICKETS.replace(/\/$/u, '') });
    const replay = await introspect(ticketsToken, withAssertion(jwt));
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ error: 'invalid_client' });
    expect(replay.body).not.toHaveProperty('active');
  });

  it('refuses an assertion for another audience', async () => {
    const res = await introspect(ticketsToken, withAssertion(await assertion({ ...fresh(), aud: 'https://elsewhere.example/introspect' })));
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'invalid_client' });
    expect(res.body).not.toHaveProperty('active');
  });

  it('refuses a validly signed assertion that carries `sub` twice (strict parsing, RFC 7515 §4)', async () => {
    const claims = fresh();
    // The second `sub` names the gateway, as a parser keeping the last member would read it; the first names another.
    const json = `{"iss":"jwt-gateway","sub":"someone-else","sub":"jwt-gateway","aud":${JSON.stringify(claims.aud)},"iat":${claims.iat},"exp":${claims.exp},"jti":"${claims.jti}"}`;
    const jwt = compactJwsRaw({ alg: 'ES256', kid: 'gw-1' }, json, asymmetricSigner(gatewayKey, 'ES256'));
    const res = await introspect(ticketsToken, withAssertion(jwt));
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'invalid_client' });
    expect(res.body).not.toHaveProperty('active');
  });
});
