/**
 * A suspended or revoked agent is dead everywhere in a delegation chain (STANDARDS 16, 22; issue 15 item 3),
 * across two brokers sharing one Redis: an agent suspended or revoked at replica A, nested at depth 2 or 3
 * in the `act` chain of a subject token, makes replica B refuse the exchange within the propagation window.
 * B reads agent statuses only through its mirror (direct reads throw), as in agent-status-mirror.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import type { Agent } from '../../src/domain/agent.js';
import { connectRedis } from '../../src/state/connect-redis.js';
import { RedisState } from '../../src/state/redis-state.js';
import type { AgentStatusOverride } from '../../src/state/shared-state.js';
import { AttackClient, expectDenied, expectGranted, type ClientAuth } from '../support/attack-kit.js';
import { secretAgent } from '../support/attack-bed.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

const redisUp = await requireRedis('act-chain standing across replicas');
const SECRET = 'chain-standing-agent-secret';
/** The default propagation window (redis.propagation_window). */
const WINDOW_MS = 1000;

/** Redis state whose agent statuses reach the token endpoint only through the replica's mirror. */
class MirrorOnlyState extends RedisState {
  override agentOverride(): Promise<AgentStatusOverride | null> {
    return Promise.reject(new Error('the token endpoint must read agent status from its mirror'));
  }
}

const BAD = { status: 400, error: 'invalid_request' } as const;

/** A chain link that names its issuer. */
interface IssuedActor { readonly sub: string; readonly iss: string }
const issued = (sub: string, iss: string): IssuedActor => ({ sub, iss });

describe.runIf(redisUp)('a suspended or revoked agent anywhere in the act chain, across replicas', () => {
  const prefix = uniquePrefix();
  let admin: { key: string; hash: string };
  let issuer: TestIssuer;
  let a: RunningTestBroker;
  let b: RunningTestBroker;
  let stateA: RedisState;
  let stateB: MirrorOnlyState;
  let clientB: AttackClient;
  const mail: ClientAuth = { kind: 'basic', clientId: 'mail-agent', secret: SECRET };

  beforeAll(async () => {
    admin = await createAdminKey('oncall');
    const agents: Agent[] = await Promise.all([
      secretAgent('mail-agent', SECRET, { crm: ['crm.accounts.read'] }),
      ...['planner-a', 'planner-b', 'orchestrator-a', 'orchestrator-b', 'root-agent'].map((id) => secretAgent(id, SECRET, { crm: ['crm.accounts.read'] })),
      secretAgent('dormant-agent', SECRET, { crm: ['crm.accounts.read'] }, { status: 'suspended' }),
    ]);
    const [ra, rb] = [await reserveBroker(), await reserveBroker()];
    issuer = await startTestIssuer();
    stateA = await RedisState.connect({ url: REDIS_URL, prefix });
    stateB = new MirrorOnlyState(await connectRedis({ url: REDIS_URL }), prefix);
    const common = {
      trustedIssuers: [trustedIssuer(issuer.issuer, ra.issuer, { algorithms: ['ES256'] })], catalog: testCatalog(), agents,
      config: { adminKeys: [{ id: 'oncall', hash: admin.hash }], maxDelegationDepth: 4 },
    };
    a = await ra.start({ ...common, state: stateA });
    b = await rb.start({ ...common, state: stateB });
    clientB = new AttackClient(b);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await issuer.close();
    await stateA.close();
    await stateB.close();
    await cleanupPrefix(prefix);
  });

  /** A user token for alice whose `act` chain is `actors`, outermost first (each nested in the one before). */
  function chainToken(actors: readonly (string | IssuedActor)[]): Promise<string> {
    let act: object | undefined;
    for (const actor of [...actors].reverse()) {
      const link = typeof actor === 'string' ? { sub: actor } : actor;
      act = act === undefined ? link : { ...link, act };
    }
    const now = Math.floor(Date.now() / 1000);
    return issuer.sign({ iss: issuer.issuer, sub: 'alice', aud: a.issuer, scope: 'crm.read', iat: now, exp: now + 600, jti: crypto.randomUUID(), ...(act ? { act } : {}) });
  }

  /** mail-agent, at replica B, exchanges a token whose chain is `actors`: the new chain is mail-agent + actors. */
  async function exchangeAtB(actors: Parameters<typeof chainToken>[0]) {
    return clientB.exchange(mail, { subject_token: await chainToken(actors), resource: CRM, scope: 'crm.accounts.read' });
  }

  const adminAtA = async (clientId: string, action: 'suspend' | 'revoke' | 'reinstate') => {
    const res = await fetch(`${a.issuer}/admin/agents/${clientId}/${action}`, {
      method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'chain test' }),
    });
    expect(res.status).toBe(200);
  };

  it('positive controls: chains of depth 2 and 3 of active agents are granted at B, the chain kept whole', async () => {
    const two = await exchangeAtB(['planner-a']);
    expectGranted(two);
    expect(decodeJwt(two.body.access_token as string).act).toEqual({ sub: 'mail-agent', act: { sub: 'planner-a' } });
    const three = await exchangeAtB(['planner-a', 'orchestrator-a']);
    expect(expectGranted(three).actors).toEqual(['mail-agent', 'planner-a', 'orchestrator-a']);
  });

  it('depth 2: an actor suspended at A is refused at B within the window, and still once only the mirror holds it', async () => {
    expectGranted(await exchangeAtB(['planner-a']));
    const t0 = performance.now();
    await adminAtA('planner-a', 'suspend');
    const refused = await exchangeAtB(['planner-a']);
    expect(performance.now() - t0).toBeLessThan(WINDOW_MS);
    expectDenied(refused, { ...BAD, reason: 'act_chain_suspended_actor' });
    await new Promise((r) => setTimeout(r, WINDOW_MS + 100)); // the background-fed mirror alone now holds it
    expectDenied(await exchangeAtB(['planner-a']), { ...BAD, reason: 'act_chain_suspended_actor' });
    // The presenting agent itself is untouched: without the suspended actor in its chain it is served.
    expectGranted(await exchangeAtB(['planner-b']));
    await adminAtA('planner-a', 'reinstate');
    expectGranted(await exchangeAtB(['planner-a']));
  });

  it('depth 3: an actor suspended at A, nested innermost, is refused at B', async () => {
    expectGranted(await exchangeAtB(['planner-b', 'orchestrator-a']));
    await adminAtA('orchestrator-a', 'suspend');
    expectDenied(await exchangeAtB(['planner-b', 'orchestrator-a']), { ...BAD, reason: 'act_chain_suspended_actor' });
    await adminAtA('orchestrator-a', 'reinstate');
  });

  it('depth 2 and 3: an actor revoked at A is refused at B as act_chain_revoked_actor, at any position', async () => {
    expectGranted(await exchangeAtB(['orchestrator-b', 'root-agent']));
    const t0 = performance.now();
    await adminAtA('root-agent', 'revoke');
    const refused = await exchangeAtB(['orchestrator-b', 'root-agent']);
    expect(performance.now() - t0).toBeLessThan(WINDOW_MS);
    expectDenied(refused, { ...BAD, reason: 'act_chain_revoked_actor' });
    expectDenied(await exchangeAtB(['root-agent']), { ...BAD, reason: 'act_chain_revoked_actor' });
    expectDenied(await exchangeAtB(['root-agent', 'orchestrator-b']), { ...BAD, reason: 'act_chain_revoked_actor' });
  });

  it('an agent suspended in its registration (status: suspended) is refused anywhere in the chain, at either replica', async () => {
    expectDenied(await exchangeAtB(['dormant-agent']), { ...BAD, reason: 'act_chain_suspended_actor' });
    expectDenied(await exchangeAtB(['planner-b', 'dormant-agent']), { ...BAD, reason: 'act_chain_suspended_actor' });
    expectDenied(await new AttackClient(a).exchange(mail, { subject_token: await chainToken(['planner-b', 'dormant-agent']), resource: CRM, scope: 'crm.accounts.read' }), { ...BAD, reason: 'act_chain_suspended_actor' });
  });

  it("a link naming another issuer is that issuer's identity, not this broker's agent of the same name", async () => {
    expectGranted(await exchangeAtB([issued('dormant-agent', 'https://agents.example')]));
    expectDenied(await exchangeAtB([issued('dormant-agent', b.issuer)]), { ...BAD, reason: 'act_chain_suspended_actor' });
  });
});
