/**
 * Where the non-exchange metrics come from, each with the real component: the attribution sink's group
 * commit (batch sizes, sync latency, failed commits), the kill switch (trips), the agent-status mirror over
 * Redis (propagation lag, mirror age, state errors when Redis goes away).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adminRecord } from '../../../src/admin/admin-record.js';
import { GroupCommit } from '../../../src/attribution/group-commit.js';
import { JsonlFileSink } from '../../../src/attribution/jsonl-file-sink.js';
import type { Agent } from '../../../src/domain/agent.js';
import { BrokerMetrics } from '../../../src/observability/metrics/broker-metrics.js';
import { hashClientSecret } from '../../../src/provider/client-secret-hash.js';
import { RedisState } from '../../../src/state/redis-state.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../../support/broker-harness.js';
import { CRM, testCatalog } from '../../support/catalog.js';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-text.js';
import { cleanupPrefix, REDIS_URL, requireRedis, startPrivateRedis, uniquePrefix } from '../../support/redis.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../../support/upstream-idp.js';

const redisUp = await requireRedis('mirror lag and state error metrics');
const SECRET = 'metric-sources-agent-secret';
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

function record(i: number) {
  return adminRecord({ nowMs: Date.now(), action: 'test', by: 'test', target: { kind: 'agent', value: `a${String(i)}` }, reason: 'metrics', request_id: `r${String(i)}`, caller: { address: 'test' } });
}

async function samplesOf(metrics: BrokerMetrics) {
  return parsePrometheusText((await metrics.render()).body).samples;
}

describe('attribution commit metrics', () => {
  it('counts the records of each group commit of the file sink and how long it took', async () => {
    const metrics = new BrokerMetrics();
    const sink = new JsonlFileSink(join(await mkdtemp(join(tmpdir(), 'metrics-sink-')), 'log.jsonl'), { onCommit: metrics.attributionCommit });
    await Promise.all(Array.from({ length: 5 }, (_, i) => sink.append(record(i))));
    await sink.append(record(5));
    await sink.close();
    const s = await samplesOf(metrics);
    expect(sampleValue(s, 'broker_attribution_batch_size_sum')).toBe(6);
    // Five appends in one turn form one batch; the sixth its own.
    expect(sampleValue(s, 'broker_attribution_batch_size_count')).toBe(2);
    expect(sampleValue(s, 'broker_attribution_sync_duration_seconds_count')).toBe(2);
    expect(sampleValue(s, 'broker_attribution_batches_total', { result: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(sampleValue(s, 'broker_attribution_batches_total', { result: 'failed' })).toBe(0);
  });

  it('counts a failed commit and the records it withheld', async () => {
    const metrics = new BrokerMetrics();
    const commit = new GroupCommit<number>(() => Promise.reject(new Error('disk full')), { onCommit: metrics.attributionCommit });
    const results = await Promise.allSettled([commit.submit(1), commit.submit(2), commit.submit(3)]);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    const s = await samplesOf(metrics);
    expect(sampleValue(s, 'broker_attribution_batches_total', { result: 'failed' })).toBe(1);
    expect(sampleValue(s, 'broker_attribution_records_failed_total')).toBe(3);
  });
});

function agent(secretHash: string): Agent {
  return {
    clientId: 'noisy-agent', name: 'noisy', owner: 'sec@example.com', status: 'active',
    authentication: { method: 'client_secret_basic', secretHash },
    tools: new Map([['crm', ['crm.accounts.read']]]),
    maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test',
  };
}

async function startBroker(opts: { state?: RedisState; config?: Parameters<Awaited<ReturnType<typeof reserveBroker>>['start']>[0]['config'] }): Promise<{ broker: RunningTestBroker; idp: UpstreamIdp }> {
  const reserved = await reserveBroker();
  const idp = await startUpstreamIdp({ audience: reserved.issuer });
  const broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)], catalog: testCatalog(), agents: [agent(await hashClientSecret(SECRET))],
    ...(opts.config ? { config: opts.config } : {}), ...(opts.state ? { state: opts.state } : {}),
  });
  cleanup.push(() => idp.close(), () => broker.close());
  return { broker, idp };
}

describe('kill-switch trips', () => {
  it('counts a trip by its trigger', async () => {
    const { broker, idp } = await startBroker({ config: { rateLimits: { perAgent: { limit: 2, windowMs: 60_000 } }, killSwitch: { rateLimitHits: { count: 2, windowMs: 60_000 } } } });
    const token = await idp.userToken('alice');
    for (let i = 0; i < 5; i += 1) {
      await rawPost(broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: token, subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read' }), { authorization: basic('noisy-agent', SECRET) });
    }
    await expect.poll(() => broker.broker.metrics.killSwitchTrips.value('rate_limit_hits'), { timeout: 3000 }).toBe(1);
    const s = await samplesOf(broker.broker.metrics);
    expect(sampleValue(s, 'broker_kill_switch_trips_total', { trigger: 'rate_limit_hits' })).toBe(1);
    expect(sampleValue(s, 'broker_kill_switch_trips_total', { trigger: 'denial_ratio' })).toBe(0);
    expect(sampleValue(s, 'broker_exchanges_total', { decision: 'denied', reason: 'rate_limited' })).toBeGreaterThanOrEqual(2);
  });
});

describe.runIf(redisUp)('the agent-status mirror over Redis', () => {
  it('measures the propagation lag of a status change and the mirror age', async () => {
    const prefix = uniquePrefix();
    const state = await RedisState.connect({ url: REDIS_URL, prefix });
    cleanup.push(() => cleanupPrefix(prefix), () => state.close());
    const { broker } = await startBroker({ state });
    await state.setAgentOverride('noisy-agent', { status: 'suspended', reason: 'test', by: 'test', at: Math.floor(Date.now() / 1000) });
    await expect.poll(() => broker.broker.metrics.revocationLag.count(), { timeout: 3000 }).toBeGreaterThanOrEqual(1);
    const s = await samplesOf(broker.broker.metrics);
    // Applied within the 1 s window by the 100 ms poll.
    expect(sampleValue(s, 'broker_revocation_propagation_lag_seconds_bucket', { le: '1' })).toBe(sampleValue(s, 'broker_revocation_propagation_lag_seconds_count'));
    expect(sampleValue(s, 'broker_agent_status_mirror_age_seconds')).toBeLessThan(1);
  });

  it('counts shared-state errors when Redis goes away', async () => {
    const redis = await startPrivateRedis();
    const state = await RedisState.connect({ url: redis.url, prefix: uniquePrefix() });
    // Run in reverse: Redis is back before the state closes (closing against a dead server waits), then stopped.
    cleanup.push(() => redis.stop(), () => state.close(), () => redis.start());
    const { broker } = await startBroker({ state });
    expect(broker.broker.metrics.stateErrors.value('agent_status_mirror')).toBe(0);
    await redis.stop();
    await expect.poll(() => broker.broker.metrics.stateErrors.value('agent_status_mirror'), { timeout: 5000 }).toBeGreaterThan(0);
    expect((await samplesOf(broker.broker.metrics)).find((x) => x.name === 'broker_agent_status_mirror_age_seconds')?.value).toBeGreaterThan(0);
  });
});
