/**
 * RFC 7662 introspection of broker tokens and the revocation feed validators follow: exactly
 * {"active":false} for anything not active, claims for active tokens, and revocations reaching a
 * subscribed validator well within the one-second propagation window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, decodeJwt, generateKeyPair } from 'jose';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import type { Agent } from '../../src/domain/agent.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../support/token-request.js';

const SECRET = 'introspection-test-agent-secret';
let idp: UpstreamIdp;
let broker: RunningTestBroker;
let admin: { key: string; hash: string };
let validator: { key: string; hash: string };

beforeAll(async () => {
  admin = await createAdminKey('oncall');
  validator = await createAdminKey('crm-service');
  const reserved = await reserveBroker();
  idp = await startUpstreamIdp({ audience: reserved.issuer });
  const agent: Agent = {
    clientId: 'crm-agent', name: 'CRM agent', owner: 'sec@example.com', status: 'active',
    authentication: { method: 'client_secret_basic', secretHash: await hashClientSecret(SECRET) },
    tools: new Map([['crm', ['crm.accounts.read']]]),
    maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test',
  };
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)],
    catalog: testCatalog(),
    agents: [agent],
    config: { adminKeys: [{ id: 'oncall', hash: admin.hash }], validatorKeys: [{ id: 'crm-service', hash: validator.hash }] },
  });
});
afterAll(async () => {
  await broker.close();
  await idp.close();
});

async function mint(user = 'alice'): Promise<string> {
  const res = await rawPost(broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: await idp.userToken(user), subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read' }), { authorization: basic('crm-agent', SECRET) });
  expect(res.status).toBe(200);
  return String(res.body.access_token);
}

async function introspect(token: string, key = validator.key): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${broker.issuer}/introspect`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ token }) });
  return { status: res.status, body: await res.json() as Record<string, unknown>, headers: res.headers };
}

async function revoke(kind: string, value: string): Promise<void> {
  const res = await fetch(`${broker.issuer}/admin/revocations`, { method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind, value, reason: 'test' }) });
  expect(res.status).toBe(201);
}

describe('introspection (RFC 7662)', () => {
  it('refuses unauthenticated callers and agents\' credentials', async () => {
    const token = await mint();
    for (const authorization of [undefined, basic('crm-agent', SECRET), 'Bearer crm-service.not-the-right-secret-at-all']) {
      const res = await fetch(`${broker.issuer}/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) }, body: form({ token }) });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'invalid_client' });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/u);
    }
  });

  it('answers an active token with its act, scope, client_id, sub, aud and exp', async () => {
    const token = await mint();
    const res = await introspect(token);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const claims = decodeJwt(token);
    expect(res.body).toMatchObject({ active: true, sub: 'alice', client_id: 'crm-agent', aud: CRM, scope: 'crm.accounts.read', act: { sub: 'crm-agent' }, exp: claims.exp, jti: claims.jti, iss: broker.issuer });
  });

  it('answers exactly {"active":false} for foreign, forged, garbage and revoked tokens', async () => {
    const userToken = await idp.userToken('alice');
    const forged = await new SignJWT({ client_id: 'crm-agent', scope: 'crm.accounts.read' })
      .setProtectedHeader({ alg: 'ES256', kid: broker.keys.active.kid, typ: 'at+jwt' })
      .setIssuer(broker.issuer).setSubject('alice').setAudience(CRM).setIssuedAt().setExpirationTime('5m').setJti('forged')
      .sign((await generateKeyPair('ES256')).privateKey);
    for (const token of [userToken, forged, 'not-a-token', `${(await mint()).slice(0, -4)}AAAA`]) {
      expect((await introspect(token)).body).toEqual({ active: false });
    }
    const byJti = await mint();
    await revoke('token', String(decodeJwt(byJti).jti));
    expect((await introspect(byJti)).body).toEqual({ active: false });
    const bobs = await mint('bob');
    await revoke('user', 'bob');
    expect((await introspect(bobs)).body).toEqual({ active: false });
    expect((await introspect(await mint('alice'))).body).toMatchObject({ active: true });
  });
});

describe('revocation by the agent (RFC 7009)', () => {
  const revokeAt = (token: string, authorization?: string) => fetch(`${broker.issuer}/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
    body: form({ token }),
  });

  it('revokes the agent\'s own token at once, attributed to the agent', async () => {
    const token = await mint();
    const res = await revokeAt(token, basic('crm-agent', SECRET));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect((await introspect(token)).body).toEqual({ active: false });
    expect(broker.sink.records.at(-1)).toMatchObject({ type: 'admin_action', action: 'revoke.token', by: 'agent:crm-agent', target: { kind: 'token', value: decodeJwt(token).jti } });
  });

  it('answers 200 for unknown or foreign tokens without revoking anything, and 401 without client authentication', async () => {
    const token = await mint();
    const before = broker.sink.records.length;
    expect((await revokeAt('not-a-token', basic('crm-agent', SECRET))).status).toBe(200);
    expect((await revokeAt(await idp.userToken('alice'), basic('crm-agent', SECRET))).status).toBe(200);
    expect(broker.sink.records.length).toBe(before);
    const anonymous = await revokeAt(token);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: 'invalid_client' });
    expect((await revokeAt(token, basic('crm-agent', 'wrong-secret'))).status).toBe(401);
    expect((await introspect(token)).body).toMatchObject({ active: true });
  });

  it('is in the metadata', async () => {
    const meta = await (await fetch(`${broker.issuer}/.well-known/oauth-authorization-server`)).json() as Record<string, unknown>;
    expect(meta.revocation_endpoint).toBe(`${broker.issuer}/revoke`);
    expect(meta.introspection_endpoint).toBe(`${broker.issuer}/introspect`);
  });
});

describe('the revocation feed', () => {
  it('pull: a snapshot without a cursor, then only newer events', async () => {
    const headers = { authorization: `Bearer ${validator.key}` };
    const first = await (await fetch(`${broker.issuer}/revocations/feed`, { headers })).json() as { revocations: unknown[]; cursor: string | null };
    expect(Array.isArray(first.revocations)).toBe(true);
    await revoke('tool', 'tickets');
    const next = await (await fetch(`${broker.issuer}/revocations/feed?cursor=${first.cursor ?? ''}`, { headers })).json() as { events: { type: string; rule?: Record<string, unknown> }[] };
    expect(next.events.map((e) => [e.type, e.rule?.kind, e.rule?.value])).toEqual([['revocation', 'tool', 'tickets']]);
    // Only what matching needs: no reason, no admin id, no rule id.
    expect(Object.keys(next.events[0]?.rule ?? {}).sort()).toEqual(['expiresAt', 'issuedBefore', 'kind', 'value']);
    expect((await fetch(`${broker.issuer}/revocations/feed`)).status).toBe(401);
  });

  it('stream: a subscribed validator learns of a revocation well within one second, with heartbeats', async () => {
    const controller = new AbortController();
    const res = await fetch(`${broker.issuer}/revocations/stream`, { headers: { authorization: `Bearer ${validator.key}` }, signal: controller.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/u);
    const reader: ReadableStreamDefaultReader<Uint8Array> = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const waitFor = async (pattern: RegExp): Promise<void> => {
      while (!pattern.test(buffer)) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffer += decoder.decode(value);
      }
    };
    await waitFor(/event: snapshot_end/u);
    const t0 = Date.now();
    await revoke('user', 'carol');
    await waitFor(/event: revocation\ndata: \{"rule":\{"kind":"user"/u);
    expect(Date.now() - t0).toBeLessThan(1000);
    await waitFor(/event: heartbeat/u);
    // Least disclosure: the user is on the feed only as a keyed hash; no reasons, no admin ids.
    expect(buffer).not.toMatch(/carol|"reason"|"by"|oncall/u);
    controller.abort();
  });
});
