/**
 * The kill switch end to end: an admin suspends an agent at one broker and every broker sharing the state
 * refuses it on its next request; tokens minted before the suspension are covered by its revocation rule;
 * a broker that cannot reach Redis mints nothing and recovers without a restart.
 */
import { newTokenId } from '../../src/minting/token-id.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { decodeJwt, SignJWT, type CryptoKey } from 'jose';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import type { Agent } from '../../src/domain/agent.js';
import { isExchangeRecord } from '../../src/attribution/record.js';
import { RedisState } from '../../src/state/redis-state.js';
import { isRevokedBy, type Revocation } from '../../src/state/shared-state.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { keyAgent, reserveBroker, trustedIssuer, type BrokerStartOptions, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../support/token-request.js';
import { cleanupPrefix, REDIS_URL, requireRedis, startPrivateRedis, uniquePrefix } from '../support/redis.js';

const SECRET = 'revocation-test-agent-secret';
let agent: Agent;
let keyed: { agent: Agent; privateKey: CryptoKey };
let admin: { key: string; hash: string };

beforeAll(async () => {
  admin = await createAdminKey('oncall');
  keyed = await keyAgent('key-agent', { crm: ['crm.accounts.read'] });
  agent = {
    clientId: 'runaway-agent', name: 'Runaway agent', owner: 'sec@example.com', status: 'active',
    authentication: { method: 'client_secret_basic', secretHash: await hashClientSecret(SECRET) },
    tools: new Map([['crm', ['crm.accounts.read']]]),
    maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test',
  };
});

/** A broker (or several) and an upstream IdP whose tokens they all accept. */
async function startBrokers(count: number, opts: (i: number) => Partial<BrokerStartOptions>): Promise<{ brokers: RunningTestBroker[]; idp: UpstreamIdp; close(): Promise<void> }> {
  const reserved = await Promise.all(Array.from({ length: count }, () => reserveBroker()));
  // One IdP whose tokens carry every broker's issuer as audience is not possible; each broker accepts the first's.
  const idp = await startUpstreamIdp({ audience: reserved[0]!.issuer });
  const brokers = await Promise.all(reserved.map((r, i) => r.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved[0]!.issuer)],
    catalog: testCatalog(),
    agents: [agent, keyed.agent],
    config: { adminKeys: [{ id: 'oncall', hash: admin.hash }] },
    ...opts(i),
  })));
  return { brokers, idp, async close() { await Promise.all(brokers.map((b) => b.close())); await idp.close(); } };
}

function exchange(broker: RunningTestBroker, userToken: string): Promise<RawResponse> {
  return rawPost(broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read' }), { authorization: basic(agent.clientId, SECRET) });
}

async function adminCall(broker: RunningTestBroker, method: string, path: string, body?: unknown, key = admin.key): Promise<RawResponse> {
  const res = await fetch(`${broker.issuer}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) as Record<string, unknown> : {} };
}

describe('admin API and the kill switch (in-memory state)', () => {
  let env: Awaited<ReturnType<typeof startBrokers>>;
  let broker: RunningTestBroker;
  beforeAll(async () => {
    env = await startBrokers(1, () => ({}));
    broker = env.brokers[0]!;
  });
  afterAll(async () => { await env.close(); });

  it('refuses admin calls without a valid admin key, and agents\' credentials are not admin keys', async () => {
    for (const key of ['', 'oncall.wrong-secret-but-long-enough', `other.${admin.key.split('.')[1]!}`]) {
      const res = await adminCall(broker, 'POST', `/admin/agents/${agent.clientId}/suspend`, { reason: 'x' }, key);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_token');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/u);
    }
    const basicAuth = await fetch(`${broker.issuer}/admin/revocations`, { headers: { authorization: basic(agent.clientId, SECRET) } });
    expect(basicAuth.status).toBe(401);
    expect(await broker.state.agentOverride(agent.clientId)).toBeNull();
  });

  it('requires a reason and a known agent', async () => {
    expect((await adminCall(broker, 'POST', `/admin/agents/${agent.clientId}/suspend`, {})).status).toBe(400);
    const unknown = await adminCall(broker, 'POST', '/admin/agents/nobody/suspend', { reason: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('unknown_agent');
  });

  it('suspends: the very next exchange is refused and recorded; live tokens are covered; only a person reinstates', async () => {
    const userToken = await env.idp.userToken('alice');
    const before = await exchange(broker, userToken);
    expect(before.status).toBe(200);
    const liveToken = decodeJwt(String(before.body.access_token));

    const suspended = await adminCall(broker, 'POST', `/admin/agents/${agent.clientId}/suspend`, { reason: 'exfiltration suspected' });
    expect(suspended.status).toBe(200);
    const rule = (suspended.body as { revocation: Revocation }).revocation;
    expect(isRevokedBy(liveToken, rule)).toBe(true);

    const count = broker.sink.records.length;
    const refused = await exchange(broker, userToken);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'unauthorized_client' });
    expect(refused.body.access_token).toBeUndefined();
    const records = broker.sink.records.slice(count);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ type: 'token_exchange', decision: 'denied', reason: 'agent_suspended' });

    const adminRecords = broker.sink.records.filter((r) => r.type === 'admin_action');
    expect(adminRecords.at(-1)).toMatchObject({ action: 'agent.suspend', by: 'oncall', target: { kind: 'agent', value: agent.clientId }, reason: 'exfiltration suspected' });

    const reinstated = await adminCall(broker, 'POST', `/admin/agents/${agent.clientId}/reinstate`, { reason: 'false alarm' });
    expect(reinstated.status).toBe(200);
    const after = await exchange(broker, userToken);
    expect(after.status).toBe(200);
    // The reinstated agent gets new tokens; the old one stays revoked by the suspension's rule.
    const listed = await adminCall(broker, 'GET', '/admin/revocations');
    expect((listed.body.revocations as Revocation[]).map((r) => r.id)).toContain(rule.id);
    expect(isRevokedBy(liveToken, rule)).toBe(true);
  });

  it('revokes an agent permanently with its own reason code, and revokes tokens by user, tool and jti', async () => {
    for (const [kind, value] of [['user', 'alice'], ['tool', 'crm'], ['token', newTokenId()]] as const) {
      const res = await adminCall(broker, 'POST', '/admin/revocations', { kind, value, reason: `revoke ${kind}` });
      expect(res.status).toBe(201);
      expect(res.body.revocation).toMatchObject({ kind, value, by: 'oncall' });
    }
    expect((await adminCall(broker, 'POST', '/admin/revocations', { kind: 'tool', value: 'no-such-tool', reason: 'x' })).status).toBe(404);
    expect((await adminCall(broker, 'POST', `/admin/agents/${agent.clientId}/revoke`, { reason: 'key leaked' })).status).toBe(200);
    const count = broker.sink.records.length;
    const refused = await exchange(broker, await env.idp.userToken('alice'));
    // RFC 6749 §5.2: a revoked identity's credentials no longer authenticate it: 401 invalid_client, with a challenge.
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error: 'invalid_client' });
    expect(refused.body.access_token).toBeUndefined();
    // (oidc-provider's client authentication adds it to every 401 after an Authorization header.)
    expect(refused.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+", error="invalid_client"/u);
    const records = broker.sink.records.slice(count);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ type: 'token_exchange', decision: 'denied', reason: 'agent_revoked', error: 'invalid_client' });
    // Whatever it asks: a request the broker would refuse for its parameters is still refused as the identity.
    const unparsed = await rawPost(broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token_type: AT_TYPE, resource: CRM }), { authorization: basic(agent.clientId, SECRET) });
    expect(unparsed.status).toBe(401);
    expect(unparsed.body).toMatchObject({ error: 'invalid_client' });
    expect(broker.sink.records.filter(isExchangeRecord).at(-1)).toMatchObject({ decision: 'denied', reason: 'agent_revoked' });
  });
});

const redisUp = await requireRedis('revocation across replicas');

describe.runIf(redisUp)('two brokers sharing one Redis', () => {
  const prefix = uniquePrefix();
  let env: Awaited<ReturnType<typeof startBrokers>>;
  let states: RedisState[];
  beforeAll(async () => {
    states = [await RedisState.connect({ url: REDIS_URL, prefix }), await RedisState.connect({ url: REDIS_URL, prefix })];
    env = await startBrokers(2, (i) => ({ state: states[i]! }));
  });
  afterAll(async () => {
    await env.close();
    for (const s of states) await s.close();
    await cleanupPrefix(prefix);
  });

  it('suspending at one broker is refused at the other on its next request, within a second', async () => {
    const [a, b] = env.brokers as [RunningTestBroker, RunningTestBroker];
    const userToken = await env.idp.userToken('alice');
    expect((await exchange(b, userToken)).status).toBe(200);
    const t0 = Date.now();
    expect((await adminCall(a, 'POST', `/admin/agents/${agent.clientId}/suspend`, { reason: 'replica test' })).status).toBe(200);
    const refused = await exchange(b, userToken);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(refused.body).toMatchObject({ error: 'unauthorized_client' });
    expect(b.sink.records.filter(isExchangeRecord).at(-1)).toMatchObject({ decision: 'denied', reason: 'agent_suspended' });
    await adminCall(a, 'POST', `/admin/agents/${agent.clientId}/reinstate`, { reason: 'done' });
  });

  it('shares the client-assertion replay cache: an assertion used at one replica is refused at the other', async () => {
    const [a, b] = env.brokers as [RunningTestBroker, RunningTestBroker];
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'key-agent-key' })
      .setIssuer('key-agent').setSubject('key-agent').setAudience([a.issuer, b.issuer])
      .setJti(randomUUID()).setIssuedAt().setExpirationTime('60s')
      .sign(keyed.privateKey);
    const userToken = await env.idp.userToken('alice');
    const send = (broker: RunningTestBroker) => rawPost(broker.tokenEndpoint, form({
      grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
    }));
    expect((await send(a)).status).toBe(200);
    const replayed = await send(b);
    expect(replayed.status).toBe(401);
    expect(replayed.body).toMatchObject({ error: 'invalid_client' });
    expect(replayed.body.access_token).toBeUndefined();
    expect(b.sink.records.filter(isExchangeRecord).at(-1)).toMatchObject({ decision: 'denied', reason: 'client_authentication_failed' });
  });

  it('under continuous load, no token escapes the suspension: every grant is older than the rule, every later request refused', async () => {
    const [a, b] = env.brokers as [RunningTestBroker, RunningTestBroker];
    const userToken = await env.idp.userToken('alice');
    const results: { started: number; res: RawResponse }[] = [];
    let stop = false;
    const worker = async () => {
      for (let i = 0; i < 400 && !stop; i += 1) {
        const started = Date.now();
        results.push({ started, res: await exchange(b, userToken) });
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await new Promise((r) => setTimeout(r, 150));
    const suspended = await adminCall(a, 'POST', `/admin/agents/${agent.clientId}/suspend`, { reason: 'race test' });
    const effectiveAt = Date.now();
    const rule = (suspended.body as { revocation: Revocation }).revocation;
    await new Promise((r) => setTimeout(r, 150));
    stop = true;
    await Promise.all(workers);

    const granted = results.filter((r) => r.res.status === 200);
    const refused = results.filter((r) => r.res.status !== 200);
    expect(granted.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const g of granted) expect(isRevokedBy(decodeJwt(String(g.res.body.access_token)), rule)).toBe(true);
    for (const r of results.filter((x) => x.started > effectiveAt)) expect(r.res.status).toBe(400);
    for (const r of refused) expect(r.res.body).toMatchObject({ error: 'unauthorized_client' });
    const denials = b.sink.records.filter(isExchangeRecord).filter((r) => r.reason === 'agent_suspended');
    expect(denials.length).toBeGreaterThanOrEqual(refused.length);
    await adminCall(a, 'POST', `/admin/agents/${agent.clientId}/reinstate`, { reason: 'done' });
  });
});

describe.runIf(redisUp)('Redis going away and coming back', () => {
  it('mints nothing while Redis is down (503, recorded, readiness fails) and recovers without a restart', async () => {
    const redis = await startPrivateRedis();
    const state = await RedisState.connect({ url: redis.url, prefix: 'down:' });
    const env = await startBrokers(1, () => ({ state }));
    const broker = env.brokers[0]!;
    try {
      const userToken = await env.idp.userToken('alice');
      expect((await exchange(broker, userToken)).status).toBe(200);
      await redis.stop();
      const count = broker.sink.records.length;
      const down = await exchange(broker, userToken);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ error: 'temporarily_unavailable' });
      expect(down.body.access_token).toBeUndefined();
      expect(broker.sink.records.slice(count)).toEqual([expect.objectContaining({ decision: 'denied', reason: 'state_unavailable' })]);
      expect((await fetch(`${broker.issuer}/readyz`)).status).toBe(503);

      await redis.start();
      await expect.poll(async () => (await exchange(broker, userToken)).status, { timeout: 5000, interval: 100 }).toBe(200);
      expect((await fetch(`${broker.issuer}/readyz`)).status).toBe(200);
    } finally {
      await env.close();
      await state.close();
      await redis.stop();
    }
  });
});
