/**
 * DPoP replay protection across the replicas of one downstream service (RFC 9449 §11.1): two validators, each
 * behind its own sample-CRM server, share `redisReplayStore` on a real Redis. A proof accepted by one replica is
 * refused by the other; one key's share is enforced across both; when Redis is gone requests with a proof get
 * 503 (fail closed) and work again when it is back. Tokens come from a real broker, user tokens from the real
 * upstream IdP, proofs from the agent SDK's key.
 */
import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleCrmApp } from '../../src/dev/sample-crm-server.js';
import { AgentClient, type ToolToken } from '../../src/sdk/agent/index.js';
import { redisReplayStore, TokenValidator, type DpopReplayStore } from '../../src/sdk/validator/index.js';
import { close, listen } from '../../src/server/listen.js';
import { secretAgent } from '../support/attack-bed.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { dpopKey, proof, type DpopTestKey } from '../support/dpop-kit.js';
import { cleanupPrefix, REDIS_URL, requireRedis, startPrivateRedis, uniquePrefix, type PrivateRedis } from '../support/redis.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';

const redisUp = await requireRedis('shared DPoP replay store tests');
const SECRET = 'dpop-replay-shared-secret';

interface Replica { readonly validator: TokenValidator; readonly server: Server; readonly url: string }

async function replica(store: DpopReplayStore): Promise<Replica> {
  const validator = await TokenValidator.create({ issuer: broker.issuer, resource: CRM, revocation: false, dpop: { replayStore: store } });
  const { server, port } = await listen(sampleCrmApp(validator, { resource: CRM, issuer: broker.issuer }).callback(), '127.0.0.1', 0);
  return { validator, server, url: `http://127.0.0.1:${port}` };
}
async function stop(r: Replica): Promise<void> {
  await close(r.server);
  r.validator.close();
}

let idp: UpstreamIdp;
let broker: RunningTestBroker;
let client: AgentClient;
let agentKey: DpopTestKey;
let redis: Redis;
const prefix = uniquePrefix();

beforeAll(async () => {
  if (!redisUp) return;
  const reserved = await reserveBroker();
  idp = await startUpstreamIdp({ audience: reserved.issuer });
  broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, reserved.issuer)],
    catalog: testCatalog(),
    agents: [await secretAgent('dpop-agent', SECRET, { crm: ['crm.accounts.read'] }, { dpop: 'required' })],
  });
  agentKey = await dpopKey();
  client = await AgentClient.create({ issuer: broker.issuer, clientId: 'dpop-agent', auth: { clientSecret: SECRET }, allowInsecureLoopback: true, dpop: agentKey });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  if (!redisUp) return;
  redis.disconnect();
  await cleanupPrefix(prefix);
  await broker.close();
  await idp.close();
});

const aliceToken = async (): Promise<ToolToken> => client.getToken({ subjectToken: await idp.userToken('alice'), tool: CRM, scope: 'crm.accounts.read' });
const callWith = (r: Replica, accessToken: string, dpop: string) => fetch(`${r.url}/accounts/A`, { headers: { authorization: `DPoP ${accessToken}`, dpop } });
/** A proof for this path as the replica's clients address it (each replica is its own origin here). */
const proofFor = (r: Replica, token: ToolToken) => proof(agentKey, { method: 'GET', url: `${r.url}/accounts/A`, accessToken: token.accessToken });

describe.runIf(redisUp)('DPoP replay state shared by two replicas of a service (Redis)', () => {
  it('a proof accepted at one replica is refused as replayed at the other, and twice at the same one', async () => {
    const store = redisReplayStore(redis, { prefix });
    const [a, b] = [await replica(store), await replica(store)];
    try {
      const token = await aliceToken();
      // Both replicas answer for one public URL behind a load balancer; here they share the proof's htu via publicBaseUrl.
      const shared = 'https://crm.example.com';
      const [va, vb] = await Promise.all([1, 2].map(() => TokenValidator.create({ issuer: broker.issuer, resource: CRM, revocation: false, dpop: { replayStore: store, publicBaseUrl: shared } })));
      try {
        const dpop = proof(agentKey, { method: 'GET', url: `${shared}/accounts/A`, accessToken: token.accessToken });
        await expect(va!.validate(`DPoP ${token.accessToken}`, { method: 'GET', url: '/accounts/A', dpop })).resolves.toMatchObject({ sub: 'alice' });
        await expect(vb!.validate(`DPoP ${token.accessToken}`, { method: 'GET', url: '/accounts/A', dpop }))
          .rejects.toMatchObject({ status: 401, code: 'invalid_dpop_proof', description: 'the DPoP proof has already been used' });
      } finally {
        va!.close();
        vb!.close();
      }
      // Over HTTP through the Koa middleware: the same proof twice at one replica.
      const dpop = proofFor(a, token);
      expect((await callWith(a, token.accessToken, dpop)).status).toBe(200);
      const replay = await callWith(a, token.accessToken, dpop);
      expect(replay.status).toBe(401);
      expect(await replay.json()).toMatchObject({ error: 'invalid_dpop_proof' });
      expect((await callWith(b, token.accessToken, proofFor(b, token))).status).toBe(200); // a fresh proof still works
    } finally {
      await stop(a);
      await stop(b);
    }
  });

  it('one key\'s share counts across both replicas: beyond it, 429 with Retry-After at either', async () => {
    const store = redisReplayStore(redis, { prefix: `${prefix}cap:`, maxPerKey: 2 });
    const [a, b] = [await replica(store), await replica(store)];
    try {
      const token = await aliceToken();
      expect((await callWith(a, token.accessToken, proofFor(a, token))).status).toBe(200);
      expect((await callWith(b, token.accessToken, proofFor(b, token))).status).toBe(200);
      const capped = await callWith(a, token.accessToken, proofFor(a, token));
      expect(capped.status).toBe(429);
      expect(capped.headers.get('retry-after')).toBe('71'); // the replay window
      expect(await capped.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'too many DPoP proofs by this key; retry later' });
      expect((await callWith(b, token.accessToken, proofFor(b, token))).status).toBe(429);
    } finally {
      await stop(a);
      await stop(b);
    }
  });

  it('fails closed while Redis is down (503, the request is not served) and recovers without a restart', async () => {
    const privateRedis: PrivateRedis = await startPrivateRedis();
    const own = new Redis(privateRedis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, commandTimeout: 500 });
    own.on('error', () => undefined);
    const r = await replica(redisReplayStore(own, { prefix }));
    try {
      const token = await aliceToken();
      expect((await callWith(r, token.accessToken, proofFor(r, token))).status).toBe(200);
      await privateRedis.stop();
      const down = await callWith(r, token.accessToken, proofFor(r, token));
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'the DPoP replay state cannot be reached' });
      await privateRedis.start();
      await expect.poll(async () => (await callWith(r, token.accessToken, proofFor(r, token))).status, { timeout: 10_000, interval: 200 }).toBe(200);
    } finally {
      await stop(r);
      own.disconnect();
      await privateRedis.stop();
    }
  }, 30_000);
});
