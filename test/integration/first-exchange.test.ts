import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader, type CryptoKey } from 'jose';
import * as oidc from 'openid-client';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import type { Agent } from '../../src/domain/agent.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { keyAgent, reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, PAYROLL, testCatalog, TICKETS } from '../support/catalog.js';
import { AT_TYPE, TE_GRANT } from '../support/token-request.js';

let idp: UpstreamIdp;
let broker: RunningTestBroker;
let keyAgentKey: CryptoKey;

const SECRET = 'integration-test-agent-secret';

beforeAll(async () => {
  const reserved = await reserveBroker();
  idp = await startUpstreamIdp({ audience: reserved.issuer });
  const secretAgent: Agent = {
    clientId: 'support-agent', name: 'Support agent', owner: 'support@example.com', status: 'active',
    authentication: { method: 'client_secret_basic', secretHash: await hashClientSecret(SECRET) },
    tools: new Map([['crm', ['crm.accounts.read', 'crm.accounts.write']], ['tickets', ['tickets.read']], ['payroll', ['payroll.read']]]),
    maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test',
  };
  const ka = await keyAgent('key-agent', { crm: ['crm.accounts.read'] }, { maxTtlSeconds: 60 });
  keyAgentKey = ka.privateKey;
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer, { algorithms: ['ES256'] })],
    catalog: testCatalog(),
    agents: [secretAgent, ka.agent],
  });
});

afterAll(async () => {
  await broker.close();
  await idp.close();
});

async function agentConfig(clientId: string, auth: oidc.ClientAuth): Promise<oidc.Configuration> {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- plain http only on loopback (development and tests)
  return oidc.discovery(new URL(broker.issuer), clientId, undefined, auth, { execute: [oidc.allowInsecureRequests] });
}

describe('a first exchange over real HTTP', () => {
  it('exchanges a real user token from oidc-provider for a per-tool token (client_secret_basic)', async () => {
    const userToken = await idp.userToken('alice');
    const agent = await agentConfig('support-agent', oidc.ClientSecretBasic(SECRET));
    const before = Math.floor(Date.now() / 1000);
    const res = await oidc.genericGrantRequest(agent, TE_GRANT, {
      subject_token: userToken,
      subject_token_type: AT_TYPE,
      resource: CRM,
      scope: 'crm.accounts.read crm.accounts.write crm.accounts.delete',
    });
    expect(res.token_type.toLowerCase()).toBe('bearer');
    expect(res.issued_token_type).toBe(AT_TYPE);
    expect(res.scope).toBe('crm.accounts.read crm.accounts.write');

    const jwks = createRemoteJWKSet(new URL(`${broker.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(res.access_token, jwks, { issuer: broker.issuer, audience: CRM, typ: 'at+jwt', algorithms: ['ES256'] });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload.sub).toBe('alice');
    expect(payload.act).toEqual({ sub: 'support-agent' });
    expect(payload.client_id).toBe('support-agent');
    expect(payload.aud).toBe(CRM);
    expect(payload.tool).toBe('crm');
    expect(payload.scope).toBe('crm.accounts.read crm.accounts.write');
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - payload.iat!).toBe(res.expires_in);
    expect(payload.exp!).toBeLessThanOrEqual(before + 300 + 2); // the tool's max TTL
    const record = broker.sink.records.at(-1)!;
    expect(record).toMatchObject({
      decision: 'granted', reason: 'granted', agent: { client_id: 'support-agent', authenticated: true },
      user: { iss: idp.issuer, sub: 'alice' }, actors: ['support-agent'], tool: { id: 'crm', resource: CRM },
      scopes: { granted: ['crm.accounts.read', 'crm.accounts.write'], dropped: [{ scope: 'crm.accounts.delete', reason: 'not_in_catalog' }] },
      token: { jti: payload.jti, exp: payload.exp },
    });
    expect(JSON.stringify(broker.sink.records)).not.toContain(userToken);
    expect(JSON.stringify(broker.sink.records)).not.toContain(res.access_token);
  });

  it('narrows to what the user can justify: bob cannot get crm write', async () => {
    const agent = await agentConfig('support-agent', oidc.ClientSecretBasic(SECRET));
    const res = await oidc.genericGrantRequest(agent, TE_GRANT, {
      subject_token: await idp.userToken('bob'), subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read crm.accounts.write',
    });
    expect(res.scope).toBe('crm.accounts.read');
    expect(broker.sink.records.at(-1)).toMatchObject({ decision: 'granted', scopes: { dropped: [{ scope: 'crm.accounts.write', reason: 'not_justified_by_user' }] } });
  });

  it('authenticates a private_key_jwt agent and bounds exp by its own max TTL', async () => {
    const agent = await agentConfig('key-agent', oidc.PrivateKeyJwt(keyAgentKey));
    const res = await oidc.genericGrantRequest(agent, TE_GRANT, {
      subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read crm.accounts.write',
    });
    expect(res.scope).toBe('crm.accounts.read');
    expect(res.expires_in).toBe(60);
    expect(decodeProtectedHeader(res.access_token).kid).toBe(broker.keys.active.kid);
  });

  it('bounds exp by the end of the tool time window', async () => {
    const agent = await agentConfig('support-agent', oidc.ClientSecretBasic(SECRET));
    const res = await oidc.genericGrantRequest(agent, TE_GRANT, {
      subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE, resource: PAYROLL, scope: 'payroll.read',
    });
    expect(res.expires_in).toBeLessThanOrEqual(8 * 60);
    expect(res.expires_in).toBeGreaterThan(6 * 60);
    expect(broker.sink.records.at(-1)).toMatchObject({ decision: 'granted', token: { lifetime_bound_by: 'time_window_end' } });
  });

  it('serves RFC 8414 metadata naming the token-exchange grant', async () => {
    const res = await fetch(`${broker.issuer}/.well-known/oauth-authorization-server`);
    const meta = await res.json() as Record<string, unknown>;
    expect(meta.issuer).toBe(broker.issuer);
    expect(meta.jwks_uri).toBe(`${broker.issuer}/jwks`);
    expect(meta.token_endpoint).toBe(`${broker.issuer}/token`);
    expect(meta.grant_types_supported).toEqual([TE_GRANT]);
    expect(meta.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['private_key_jwt', 'client_secret_basic']));
    const tickets = TICKETS; // referenced so the catalog constant stays meaningful in this file
    expect(tickets).toMatch(/^https:/);
  });
});
