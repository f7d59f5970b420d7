/** Rate limits and the automatic kill switch, triggered by real traffic; then a person reinstates. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import { isExchangeRecord } from '../../src/attribution/record.js';
import type { Agent } from '../../src/domain/agent.js';
import type { BrokerConfig } from '../../src/domain/broker-config.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../support/token-request.js';
import { RedisState } from '../../src/state/redis-state.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.js';

const redisUp = await requireRedis('kill switch across replicas');

const SECRET = 'kill-switch-test-agent-secret';
let idp: UpstreamIdp;
let admin: { key: string; hash: string };
let secretHash: string;
const brokers: RunningTestBroker[] = [];

beforeAll(async () => {
  admin = await createAdminKey('oncall');
  secretHash = await hashClientSecret(SECRET);
});
afterAll(async () => {
  for (const b of brokers) await b.close();
  await idp.close();
});

function agent(clientId: string): Agent {
  return {
    clientId, name: clientId, owner: 'sec@example.com', status: 'active',
    authentication: { method: 'client_secret_basic', secretHash },
    tools: new Map([['crm', ['crm.accounts.read', 'crm.accounts.write']]]),
    maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test',
  };
}

/** A broker with its own limits; every broker trusts the same upstream IdP (audience: the first broker). */
async function startBroker(clientId: string, config: Pick<BrokerConfig, 'rateLimits' | 'killSwitch'>, opts: { now?: () => number; upstream?: UpstreamIdp } = {}): Promise<RunningTestBroker> {
  const reserved = await reserveBroker();
  if (brokers.length === 0) idp = await startUpstreamIdp({ audience: reserved.issuer });
  const broker = await reserved.start({
    trustedIssuers: [trustedIssuer((opts.upstream ?? idp).issuer, brokers[0]?.issuer ?? reserved.issuer)],
    catalog: testCatalog(),
    agents: [agent(clientId)],
    config: { adminKeys: [{ id: 'oncall', hash: admin.hash }], ...config },
    ...(opts.now ? { now: opts.now } : {}),
  });
  brokers.push(broker);
  return broker;
}

function exchange(broker: RunningTestBroker, clientId: string, userToken: string, scope = 'crm.accounts.read'): Promise<RawResponse> {
  return rawPost(broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE, resource: CRM, scope }), { authorization: basic(clientId, SECRET) });
}

async function suspendedBy(broker: RunningTestBroker, clientId: string): Promise<string | undefined> {
  return (await broker.state.agentOverride(clientId))?.by;
}

describe('rate limits', () => {
  it('answers 429 temporarily_unavailable with Retry-After past the limit, records it, and then the kill switch suspends the agent', async () => {
    const broker = await startBroker('busy-agent', {
      rateLimits: { perAgent: { limit: 5, windowMs: 60_000 } },
      killSwitch: { rateLimitHits: { count: 3, windowMs: 60_000 } },
    });
    const token = await idp.userToken('alice');
    for (let i = 0; i < 5; i += 1) expect((await exchange(broker, 'busy-agent', token)).status).toBe(200);
    const limited = await exchange(broker, 'busy-agent', token);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ error: 'temporarily_unavailable' });
    expect(limited.body.access_token).toBeUndefined();
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(broker.sink.records.filter(isExchangeRecord).at(-1)).toMatchObject({ decision: 'denied', reason: 'rate_limited', agent: { client_id: 'busy-agent' } });

    for (let i = 0; i < 3; i += 1) await exchange(broker, 'busy-agent', token);
    await expect.poll(() => suspendedBy(broker, 'busy-agent'), { timeout: 2000 }).toBe('kill-switch:rate_limit_hits');
    const refused = await exchange(broker, 'busy-agent', token);
    expect(refused.body).toMatchObject({ error: 'unauthorized_client' });
    const record = broker.sink.records.find((r) => r.type === 'admin_action' && r.target.value === 'busy-agent');
    expect(record).toMatchObject({ action: 'agent.suspend', by: 'kill-switch:rate_limit_hits' });
  });
});

describe('the kill switch', () => {
  it('suspends an agent whose exchanges are mostly denied for what it asked', async () => {
    const broker = await startBroker('prober', { killSwitch: { denialRatio: { ratio: 0.5, minRequests: 6, windowMs: 60_000 } } });
    const token = await idp.userToken('bob');
    // Not in the catalog: every one of these is denied (scope_empty_after_narrowing, dropped not_in_catalog).
    for (let i = 0; i < 4; i += 1) await exchange(broker, 'prober', token, 'crm.accounts.delete');
    expect(await suspendedBy(broker, 'prober')).toBeUndefined();
    for (let i = 0; i < 4; i += 1) await exchange(broker, 'prober', token, 'crm.accounts.delete');
    await expect.poll(() => suspendedBy(broker, 'prober'), { timeout: 2000 }).toBe('kill-switch:denial_ratio');
  });

  it('suspends an agent acting for more distinct users than expected, and only a person reinstates it', async () => {
    const broker = await startBroker('harvester', { killSwitch: { distinctUsers: { max: 1, windowMs: 60_000 } } });
    const alice = await idp.userToken('alice');
    expect((await exchange(broker, 'harvester', alice)).status).toBe(200);
    expect((await exchange(broker, 'harvester', alice)).status).toBe(200);
    expect(await suspendedBy(broker, 'harvester')).toBeUndefined();
    expect((await exchange(broker, 'harvester', await idp.userToken('bob'))).status).toBe(200);
    await expect.poll(() => suspendedBy(broker, 'harvester'), { timeout: 2000 }).toBe('kill-switch:distinct_users');
    expect((await exchange(broker, 'harvester', alice)).body).toMatchObject({ error: 'unauthorized_client' });

    // Undoing the kill switch is an override: said explicitly, and recorded as one (issue 14 item 7).
    const reinstated = await fetch(`${broker.issuer}/admin/agents/harvester/reinstate`, {
      method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'reviewed: batch job', override: true }),
    });
    expect(reinstated.status).toBe(200);
    expect(await suspendedBy(broker, 'harvester')).toBeUndefined();
    expect(broker.sink.records.filter((r) => r.type === 'admin_action').map((r) => r.by)).toEqual(['kill-switch:distinct_users', 'oncall']);
  });
});

/** Lets the kill switch's evaluation of the last response's record (asynchronous, in memory) finish. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200));
}

describe('the kill switch counts only what the agent did (issue 14 item 4)', () => {
  const RATIO = { denialRatio: { ratio: 0.5, minRequests: 6, windowMs: 60_000 } };

  it('does not suspend an agent for 50 exchanges with an expired user token', async () => {
    // The broker's clock two hours ahead: every user token is expired (the user's fault, not the agent's).
    const broker = await startBroker('expired-user', { killSwitch: RATIO }, { now: () => Date.now() + 7_200_000 });
    const token = await idp.userToken('alice');
    for (let i = 0; i < 50; i += 1) {
      const res = await exchange(broker, 'expired-user', token);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_request' });
      expect(res.body.access_token).toBeUndefined();
    }
    await settle();
    const denials = broker.sink.records.filter(isExchangeRecord).filter((r) => r.reason === 'subject_token_expired');
    expect(denials).toHaveLength(50);
    expect(await suspendedBy(broker, 'expired-user')).toBeUndefined();
    expect(broker.sink.records.filter((r) => r.type === 'admin_action')).toEqual([]);
  });

  it('does not suspend an agent for 51 issuer_unavailable during an identity-provider outage', async () => {
    const reserved = await reserveBroker();
    const down = await startUpstreamIdp({ audience: reserved.issuer });
    const token = await down.userToken('alice');
    await down.close(); // the outage: the broker has never fetched its keys, and now cannot
    const broker = await reserved.start({
      trustedIssuers: [trustedIssuer(down.issuer, reserved.issuer)],
      catalog: testCatalog(),
      agents: [agent('outage-agent')],
      config: { adminKeys: [{ id: 'oncall', hash: admin.hash }], killSwitch: RATIO, upstreamTimeoutMs: 300 },
    });
    brokers.push(broker);
    for (let i = 0; i < 51; i += 1) {
      const res = await exchange(broker, 'outage-agent', token);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ error: 'temporarily_unavailable' });
      expect(res.body.access_token).toBeUndefined();
    }
    await settle();
    expect(broker.sink.records.filter(isExchangeRecord).filter((r) => r.reason === 'issuer_unavailable')).toHaveLength(51);
    expect(await suspendedBy(broker, 'outage-agent')).toBeUndefined();
  });

  it('after a person reinstates, one more denial does not re-suspend the agent', async () => {
    const broker = await startBroker('reinstated', { killSwitch: RATIO });
    const token = await idp.userToken('alice');
    for (let i = 0; i < 6; i += 1) await exchange(broker, 'reinstated', token, 'crm.accounts.delete');
    await expect.poll(() => suspendedBy(broker, 'reinstated'), { timeout: 2000 }).toBe('kill-switch:denial_ratio');

    const reinstated = await fetch(`${broker.issuer}/admin/agents/reinstated/reinstate`, {
      method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'reviewed: a bad deploy, fixed', override: true }),
    });
    expect(reinstated.status).toBe(200);
    const again = await exchange(broker, 'reinstated', token, 'crm.accounts.delete');
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ error: 'invalid_scope' });
    await settle();
    expect(await suspendedBy(broker, 'reinstated')).toBeUndefined();
    expect((await exchange(broker, 'reinstated', token)).status).toBe(200);
    expect(broker.sink.records.filter((r) => r.type === 'admin_action').map((r) => r.action)).toEqual(['agent.suspend', 'agent.reinstate']);
  });
});

describe.runIf(redisUp)('across replicas sharing Redis', () => {
  it('a reinstatement at one replica starts fresh windows at the other: its next denial does not re-suspend', async () => {
    const prefix = uniquePrefix();
    const states = [await RedisState.connect({ url: REDIS_URL, prefix }), await RedisState.connect({ url: REDIS_URL, prefix })];
    const config = { killSwitch: { denialRatio: { ratio: 0.5, minRequests: 6, windowMs: 60_000 } } };
    try {
      const a = await reserveBroker();
      const first = brokers[0];
      if (!first) throw new Error('the tests above start the shared identity provider');
      const start = async (reserved: Awaited<ReturnType<typeof reserveBroker>>, state: RedisState) => {
        const broker = await reserved.start({
          trustedIssuers: [trustedIssuer(idp.issuer, first.issuer)], catalog: testCatalog(), agents: [agent('replicated')],
          config: { adminKeys: [{ id: 'oncall', hash: admin.hash }], ...config }, state,
        });
        brokers.push(broker);
        return broker;
      };
      const atA = await start(a, states[0]!);
      const atB = await start(await reserveBroker({ issuer: a.issuer }), states[1]!);
      const token = await idp.userToken('alice');
      for (let i = 0; i < 6; i += 1) await exchange(atA, 'replicated', token, 'crm.accounts.delete');
      await expect.poll(() => suspendedBy(atA, 'replicated'), { timeout: 3000 }).toBe('kill-switch:denial_ratio');

      const reinstated = await fetch(`${atB.tokenEndpoint.replace(/\/token$/u, '')}/admin/agents/replicated/reinstate`, {
        method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'reviewed', override: true }),
      });
      expect(reinstated.status).toBe(200);
      await expect.poll(async () => (await exchange(atA, 'replicated', token, 'crm.accounts.delete')).body.error, { timeout: 3000 }).toBe('invalid_scope');
      await settle();
      expect(await suspendedBy(atA, 'replicated')).toBeUndefined();
    } finally {
      await cleanupPrefix(prefix);
    }
  });
});
