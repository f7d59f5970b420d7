/**
 * Two broker processes configured with `redis.cluster` (a private 3-master Redis Cluster): the
 * configuration path, the client factory, the hash-tagged state, the mirror and the replay cache, as an
 * operator runs them. A suspension at one replica is refused at the other at once.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import { productionSampleCatalog, sharedKeyJson, startBrokerProcess, type BrokerProcess } from '../support/broker-process.js';
import { requireRedisServer, startPrivateCluster, type PrivateCluster } from '../support/redis-topologies.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';

const serverUp = requireRedisServer('broker replicas on a Redis Cluster');

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => { done(port); });
    });
  });
}

describe.runIf(serverUp)('two broker processes on a Redis Cluster', () => {
  const SECRET = 'cluster-test-agent-secret';
  let cluster: PrivateCluster;
  let idp: UpstreamIdp;
  let replicas: BrokerProcess[] = [];
  let admin: { key: string; hash: string };

  beforeAll(async () => {
    cluster = await startPrivateCluster();
    admin = await createAdminKey('oncall');
    const [portA, portB] = [await freePort(), await freePort()];
    const issuer = `http://127.0.0.1:${String(portA)}`;
    idp = await startUpstreamIdp({ audience: issuer });
    const clients = await mkdtemp(join(tmpdir(), 'clients-'));
    await writeFile(join(clients, 'cluster-agent.yaml'), [
      'client_id: cluster-agent', 'name: Cluster agent', 'owner: sec@example.com', 'status: active',
      'authentication:', '  method: client_secret_basic', `  secret_hash: "${await hashClientSecret(SECRET)}"`,
      'tools:', '  crm: [crm.accounts.read]', 'max_ttl: 5m', '',
    ].join('\n'));
    const yaml = [
      'mode: production', `issuer: ${issuer}`, 'host: 127.0.0.1',
      `catalog_dir: ${await productionSampleCatalog()}`, `clients_dir: ${clients}`,
      'keys_dir: $DIR/keys', 'attribution: { file: $DIR/attribution.jsonl }',
      'redis:', '  cluster:', '    nodes:', ...cluster.nodes.map((n) => `      - { host: ${n.host}, port: ${String(n.port)} }`),
      '  propagation_window: 500ms',
      'admin_keys:', `  - { id: oncall, hash: "${admin.hash}" }`,
      'trusted_issuers:', `  - { issuer: "${idp.issuer}", audiences: ["${issuer}"], algorithms: [ES256] }`, '',
    ].join('\n');
    const keyJson = await sharedKeyJson();
    replicas = await Promise.all([portA, portB].map((port) => startBrokerProcess({ issuer, port, yaml, keyJson })));
  }, 60_000);

  afterAll(async () => {
    // Guarded: when beforeAll failed part-way, what it did not start is undefined (its error is the one to read).
    await Promise.all(replicas.map((r) => r.stop()));
    await (idp as UpstreamIdp | undefined)?.close();
    await (cluster as PrivateCluster | undefined)?.stop();
  });

  const exchange = async (replica: BrokerProcess) => rawPost(`${replica.url}/token`, form({
    grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE,
    resource: 'https://crm.example.internal/api', scope: 'crm.accounts.read',
  }), { authorization: basic('cluster-agent', SECRET) });
  const adminCall = (replica: BrokerProcess, action: string) => fetch(`${replica.url}/admin/agents/cluster-agent/${action}`, {
    method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'cluster test' }),
  });

  it('both replicas are ready and mint; suspended at one, refused at the other at once; reinstated, served again', async () => {
    const [a, b] = replicas as [BrokerProcess, BrokerProcess];
    expect(await (await fetch(`${a.url}/readyz`)).json()).toMatchObject({ status: 'ready', state: 'redis' });
    expect((await exchange(a)).status).toBe(200);
    expect((await exchange(b)).status).toBe(200);
    expect((await adminCall(a, 'suspend')).status).toBe(200);
    const refused = await exchange(b);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'unauthorized_client' });
    expect(refused.body.access_token).toBeUndefined();
    expect((await adminCall(b, 'reinstate')).status).toBe(200);
    expect((await exchange(a)).status).toBe(200);
  });
});
