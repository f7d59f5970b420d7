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
async function startBroker(clientId: string, config: Pick<BrokerConfig, 'rateLimits' | 'killSwitch'>): Promise<RunningTestBroker> {
  const reserved = await reserveBroker();
  if (brokers.length === 0) idp = await startUpstreamIdp({ audience: reserved.issuer });
  const broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, brokers[0]?.issuer ?? reserved.issuer)],
    catalog: testCatalog(),
    agents: [agent(clientId)],
    config: { adminKeys: [{ id: 'oncall', hash: admin.hash }], ...config },
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
  it('suspends an agent whose exchanges are mostly denied', async () => {
    const broker = await startBroker('prober', { killSwitch: { denialRatio: { ratio: 0.5, minRequests: 6, windowMs: 60_000 } } });
    const token = await idp.userToken('bob');
    // bob cannot justify crm write: every one of these is denied (scope_empty_after_narrowing).
    for (let i = 0; i < 4; i += 1) await exchange(broker, 'prober', token, 'crm.accounts.write');
    expect(await suspendedBy(broker, 'prober')).toBeUndefined();
    for (let i = 0; i < 4; i += 1) await exchange(broker, 'prober', token, 'crm.accounts.write');
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
