/**
 * Issue 15 item 5: introspection (RFC 7662 §2.1) accepts standard client authentication besides validator
 * keys, so that off-the-shelf gateways can use it: HTTP Basic (RFC 6749 §2.3.1) with a validator key's id
 * and secret. (private_key_jwt, which needs the form, is covered in test/auth/validator-authenticator.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { secretAgent } from '../support/attack-bed.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';

const SECRET = 'introspection-client-auth-agent-secret';
let idp: UpstreamIdp;
let broker: RunningTestBroker;
let gateway: { key: string; hash: string };

beforeAll(async () => {
  gateway = await createAdminKey('api-gateway');
  const reserved = await reserveBroker();
  idp = await startUpstreamIdp({ audience: reserved.issuer });
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)],
    catalog: testCatalog(),
    agents: [await secretAgent('crm-agent', SECRET, { crm: ['crm.accounts.read'] })],
    config: { validatorKeys: [{ id: 'api-gateway', hash: gateway.hash }] },
  });
});
afterAll(async () => {
  await broker.close();
  await idp.close();
});

async function introspect(authorization: string, token: string) {
  const res = await fetch(`${broker.issuer}/introspect`, { method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ token }) });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

describe('introspection with HTTP Basic client authentication', () => {
  it('a gateway authenticating with client_secret_basic (its validator key id and secret) introspects', async () => {
    const minted = await rawPost(broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read' }), { authorization: basic('crm-agent', SECRET) });
    expect(minted.status).toBe(200);
    const secret = gateway.key.slice('api-gateway.'.length);
    const res = await introspect(basic('api-gateway', secret), String(minted.body.access_token));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ active: true, sub: 'alice', aud: CRM, client_id: 'crm-agent' });
  });

  it('refuses a wrong secret, an unknown id and an agent\'s credentials with 401 invalid_client', async () => {
    for (const authorization of [basic('api-gateway', 'not-the-secret-but-long-enough-to-look-like-one-0000'), basic('nobody', gateway.key.slice(12)), basic('crm-agent', SECRET)]) {
      const res = await introspect(authorization, 'x');
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: 'invalid_client' });
    }
  });
});
