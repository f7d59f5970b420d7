/**
 * `/metrics` of a real broker: exchanges counted by decision, reason, tool and agent with bounded label
 * values, the bearer-key protection, one registry per broker, and the separate key-less listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../../src/admin/admin-auth.js';
import { isExchangeRecord } from '../../../src/attribution/record.js';
import type { Agent } from '../../../src/domain/agent.js';
import { metricsListener } from '../../../src/observability/metrics/metrics-route.js';
import { hashClientSecret } from '../../../src/provider/client-secret-hash.js';
import { close, listen } from '../../../src/server/listen.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../../support/broker-harness.js';
import { CRM, testCatalog } from '../../support/catalog.js';
import { parsePrometheusText, sampleValue, type Sample } from '../../support/prometheus-text.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../../support/upstream-idp.js';

const SECRET = 'metrics-test-agent-secret';
let idp: UpstreamIdp | undefined;
let viewer: { key: string; hash: string };
const brokers: RunningTestBroker[] = [];

function agent(clientId: string, secretHash: string): Agent {
  return {
    clientId, name: clientId, owner: 'sec@example.com', status: 'active',
    authentication: { method: 'client_secret_basic', secretHash },
    tools: new Map([['crm', ['crm.accounts.read']]]),
    maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test',
  };
}

async function startBroker(aggregate = true): Promise<RunningTestBroker> {
  const reserved = await reserveBroker();
  idp ??= await startUpstreamIdp({ audience: reserved.issuer });
  const upstream = idp;
  const secretHash = await hashClientSecret(SECRET);
  const broker = await reserved.start({
    trustedIssuers: [trustedIssuer(upstream.issuer, brokers[0]?.issuer ?? reserved.issuer)],
    catalog: testCatalog(),
    agents: [agent('metrics-agent', secretHash)],
    config: { adminKeys: [{ id: 'prometheus', hash: viewer.hash, role: 'viewer' }], attribution: { file: 'unused', ...(aggregate ? { unauthenticatedIntervalMs: 60_000 } : {}) } },
  });
  brokers.push(broker);
  return broker;
}

function exchange(broker: RunningTestBroker, clientId: string, secret: string, token: string, scope = 'crm.accounts.read'): Promise<RawResponse> {
  return rawPost(broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: token, subject_token_type: AT_TYPE, resource: CRM, scope }), { authorization: basic(clientId, secret) });
}

async function scrape(broker: RunningTestBroker, authorization = `Bearer ${viewer.key}`): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${broker.issuer}/metrics`, { headers: { authorization } });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function samples(broker: RunningTestBroker): Promise<Sample[]> {
  const res = await scrape(broker);
  expect(res.status).toBe(200);
  return parsePrometheusText(res.text).samples;
}

beforeAll(async () => {
  viewer = await createAdminKey('prometheus');
});
afterAll(async () => {
  for (const b of brokers) await b.close();
  await idp?.close();
});

describe('/metrics', () => {
  it('counts exchanges by decision and reason, and by tool and agent with bounded label values', async () => {
    const broker = await startBroker();
    const token = await idp!.userToken('alice');
    expect((await exchange(broker, 'metrics-agent', SECRET, token)).status).toBe(200);
    // Denied for what it asked: a scope the agent may not request.
    const narrowed = await exchange(broker, 'metrics-agent', SECRET, token, 'crm.accounts.write');
    expect(narrowed.body).toMatchObject({ error: 'invalid_scope' });
    // An attacker-chosen client id: never a label value.
    const stranger = await exchange(broker, 'attacker-chosen-id-123', 'wrong', token);
    expect(stranger.status).toBe(401);

    const s = await samples(broker);
    expect(sampleValue(s, 'broker_exchanges_total', { decision: 'granted', reason: 'granted' })).toBe(1);
    const deniedReason = broker.sink.records.filter(isExchangeRecord).find((r) => r.decision === 'denied')?.reason;
    expect(deniedReason).toBeDefined();
    expect(sampleValue(s, 'broker_exchanges_total', { decision: 'denied', reason: deniedReason ?? '' })).toBe(1);
    expect(sampleValue(s, 'broker_exchanges_total', { decision: 'denied', reason: 'agent_unknown' })).toBe(1);
    expect(sampleValue(s, 'broker_exchanges_by_tool_total', { tool: 'crm', agent: 'metrics-agent', decision: 'granted' })).toBe(1);
    expect(sampleValue(s, 'broker_exchanges_by_tool_total', { tool: 'none', agent: 'other', decision: 'denied' })).toBe(1);
    expect(sampleValue(s, 'broker_exchange_duration_seconds_count', { decision: 'granted' })).toBe(1);
    // Per-step timings from the pipeline: every step of the granted exchange, the refusing step of the denied one.
    expect(sampleValue(s, 'broker_pipeline_step_duration_seconds_count', { step: 'mint', outcome: 'established' })).toBe(1);
    expect(sampleValue(s, 'broker_pipeline_step_duration_seconds_count', { step: 'client-authentication', outcome: 'refused' })).toBe(1);
    expect(sampleValue(s, 'broker_exchange_duration_seconds_count', { decision: 'denied' })).toBe(2);
    const text = (await scrape(broker)).text;
    expect(text).not.toContain('attacker-chosen-id-123');
    expect(sampleValue(s, 'broker_catalog_tools')).toBe(testCatalog().tools.size);
    expect(sampleValue(s, 'broker_registered_agents')).toBe(1);
    expect(sampleValue(s, 'broker_revocation_feed_subscribers')).toBe(0);
  });

  it('never makes a caller-chosen client id a label value, also when each denial has its own record', async () => {
    const broker = await startBroker(false);
    const token = await idp!.userToken('alice');
    // An unknown id, and a registered id with a wrong secret (unauthenticated: not this agent's doing).
    expect((await exchange(broker, 'attacker-chosen-id-456', 'wrong', token)).status).toBe(401);
    expect((await exchange(broker, 'metrics-agent', 'wrong', token)).status).toBe(401);
    const records = broker.sink.records.filter(isExchangeRecord);
    expect(records.map((r) => r.agent)).toEqual([{ client_id: null, authenticated: false }, { client_id: 'metrics-agent', authenticated: false }]);
    const text = (await scrape(broker)).text;
    expect(text).not.toContain('attacker-chosen-id-456');
    const s = parsePrometheusText(text).samples;
    expect(sampleValue(s, 'broker_exchanges_by_tool_total', { tool: 'none', agent: 'other', decision: 'denied' })).toBe(2);
    expect(sampleValue(s, 'broker_exchanges_by_tool_total', { agent: 'metrics-agent' })).toBeUndefined();
  });

  it('refuses a scrape without a valid admin key: 401 invalid_token with a Bearer challenge', async () => {
    const broker = brokers[0] ?? await startBroker();
    for (const authorization of ['', 'Bearer prometheus.not-the-secret', 'Basic cHJvbWV0aGV1czp4']) {
      const res = await scrape(broker, authorization);
      expect(res.status).toBe(401);
      expect(JSON.parse(res.text)).toMatchObject({ error: 'invalid_token' });
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.text).not.toContain('broker_exchanges_total');
    }
  });

  it('keeps one registry per broker: two brokers in one process count separately', async () => {
    const [a, b] = [brokers[0] ?? await startBroker(), await startBroker()];
    const token = await idp!.userToken('alice');
    const before = sampleValue(await samples(a), 'broker_exchanges_total', { decision: 'granted', reason: 'granted' }) ?? 0;
    expect((await exchange(b, 'metrics-agent', SECRET, token)).status).toBe(200);
    expect(sampleValue(await samples(b), 'broker_exchanges_total', { decision: 'granted', reason: 'granted' })).toBe(1);
    expect(sampleValue(await samples(a), 'broker_exchanges_total', { decision: 'granted', reason: 'granted' })).toBe(before);
  });

  it('serves the same metrics without a key on the separate listener, and nothing else there', async () => {
    const broker = brokers[0] ?? await startBroker();
    const { server, port } = await listen(metricsListener(broker.broker.metrics), '127.0.0.1', 0);
    try {
      const res = await fetch(`http://127.0.0.1:${String(port)}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const parsed = parsePrometheusText(await res.text());
      expect(parsed.types.get('broker_exchanges_total')).toBe('counter');
      expect(parsed.types.get('broker_exchange_duration_seconds')).toBe('histogram');
      expect((await fetch(`http://127.0.0.1:${String(port)}/token`)).status).toBe(404);
    } finally {
      await close(server, 0);
    }
  });
});
