/**
 * Two brokers sharing one Redis, where B reads agent statuses only through its mirror: B's state refuses
 * direct agent-status reads, so a suspension at A honoured at B must have come through the feed. When
 * B's mirror cannot read the feed (while Redis still answers everything else) B mints nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { isExchangeRecord } from '../../src/attribution/record.js';
import type { Agent } from '../../src/domain/agent.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import { connectRedis } from '../../src/state/connect-redis.js';
import { RedisState } from '../../src/state/redis-state.js';
import { StateUnavailableError, type AgentStatusOverride, type AgentStatusSnapshot, type StateEvent } from '../../src/state/shared-state.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';

const redisUp = await requireRedis('agent-status mirror across replicas');
const SECRET = 'mirror-test-agent-secret';

/** Redis state whose agent status is reachable only through the feed, and whose feed can be cut. */
class MirrorOnlyState extends RedisState {
  feedDown = false;
  override agentOverride(): Promise<AgentStatusOverride | null> {
    return Promise.reject(new Error('the token endpoint must read agent status from its mirror'));
  }
  override agentStatusSnapshot(): Promise<AgentStatusSnapshot> {
    return this.feedDown ? Promise.reject(new StateUnavailableError('feed cut')) : super.agentStatusSnapshot();
  }
  override eventsSince(cursor: string | undefined, limit?: number): Promise<StateEvent[]> {
    return this.feedDown ? Promise.reject(new StateUnavailableError('feed cut')) : super.eventsSince(cursor, limit);
  }
}

describe.runIf(redisUp)('agent statuses through the mirror', () => {
  const prefix = uniquePrefix();
  let agent: Agent;
  let admin: { key: string; hash: string };
  let idp: UpstreamIdp;
  let a: RunningTestBroker;
  let b: RunningTestBroker;
  let stateA: RedisState;
  let stateB: MirrorOnlyState;

  beforeAll(async () => {
    admin = await createAdminKey('oncall');
    agent = {
      clientId: 'mirrored-agent', name: 'Mirrored agent', owner: 'sec@example.com', status: 'active',
      authentication: { method: 'client_secret_basic', secretHash: await hashClientSecret(SECRET) },
      tools: new Map([['crm', ['crm.accounts.read']]]),
      maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test',
    };
    const [ra, rb] = [await reserveBroker(), await reserveBroker()];
    idp = await startUpstreamIdp({ audience: ra.issuer });
    stateA = await RedisState.connect({ url: REDIS_URL, prefix });
    stateB = new MirrorOnlyState(await connectRedis({ url: REDIS_URL }), prefix);
    const common = {
      trustedIssuers: [trustedIssuer(idp.issuer, ra.issuer)], catalog: testCatalog(), agents: [agent],
      config: { adminKeys: [{ id: 'oncall', hash: admin.hash }] },
    };
    a = await ra.start({ ...common, state: stateA });
    b = await rb.start({ ...common, state: stateB });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await idp.close();
    await stateA.close();
    await stateB.close();
    await cleanupPrefix(prefix);
  });

  const exchange = async (broker: RunningTestBroker): Promise<RawResponse> => rawPost(broker.tokenEndpoint, form({
    grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read',
  }), { authorization: basic(agent.clientId, SECRET) });
  const adminCall = (broker: RunningTestBroker, action: string) => fetch(`${broker.issuer}/admin/agents/${agent.clientId}/${action}`, {
    method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'mirror test' }),
  });

  it('a suspension at A is refused at B through its mirror, at once and still a second later; a reinstatement at A reaches B', async () => {
    expect((await exchange(b)).status).toBe(200);
    expect((await adminCall(a, 'suspend')).status).toBe(200);
    const refused = await exchange(b);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'unauthorized_client' });
    expect(refused.body.access_token).toBeUndefined();
    expect(b.sink.records.filter(isExchangeRecord).at(-1)).toMatchObject({ decision: 'denied', reason: 'agent_suspended' });
    await new Promise((r) => setTimeout(r, 1100)); // the background-fed memory view alone now holds it
    expect((await exchange(b)).status).toBe(400);
    expect((await adminCall(a, 'reinstate')).status).toBe(200);
    expect((await exchange(b)).status).toBe(200);
  });

  it('B mints nothing while its mirror cannot read the feed, though Redis answers everything else, and recovers', async () => {
    expect((await exchange(b)).status).toBe(200);
    stateB.feedDown = true;
    try {
      const count = b.sink.records.length;
      const down = await exchange(b);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ error: 'temporarily_unavailable' });
      expect(down.body.access_token).toBeUndefined();
      expect(b.sink.records.slice(count)).toEqual([expect.objectContaining({ decision: 'denied', reason: 'state_unavailable' })]);
      await new Promise((r) => setTimeout(r, 1100)); // past the window: the memory view is stale too
      expect((await exchange(b)).status).toBe(503);
      expect((await fetch(`${b.issuer}/readyz`)).status).toBe(503);
      expect((await fetch(`${a.issuer}/readyz`)).status).toBe(200);
      expect((await exchange(a)).status).toBe(200);
    } finally {
      stateB.feedDown = false;
    }
    expect((await exchange(b)).status).toBe(200);
    expect((await fetch(`${b.issuer}/readyz`)).status).toBe(200);
  });
});
