/**
 * Two broker processes behind one issuer identifier, sharing one Redis: an agent suspended at one is
 * refused at the other within a second; admin actions at either reach both.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { productionSampleCatalog, sharedKeyJson, startBrokerProcess, type BrokerProcess } from '../support/broker-process.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.js';
import { Redis } from 'ioredis';
import { hostname } from 'node:os';
import { streamLines } from '../../src/attribution/redis-stream-sink.js';
import { verifyLog } from '../../src/attribution/verify.js';
import { userPseudonym } from '../../src/attribution/redact.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../support/token-request.js';

const redisUp = await requireRedis('two broker processes sharing Redis');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => { resolve(port); });
    });
  });
}

describe.runIf(redisUp)('two broker processes sharing one Redis', () => {
  const SECRET = 'replica-test-agent-secret';
  const prefix = uniquePrefix();
  let idp: UpstreamIdp;
  let replicas: BrokerProcess[];
  let admin: { key: string; hash: string };
  let issuer: string;
  let keyJson: string;
  const REDACTION_KEY = 'replica-test-redaction-key-0123456789';
  const ports: number[] = [];

  beforeAll(async () => {
    admin = await createAdminKey('oncall');
    const [portA, portB] = [await freePort(), await freePort()];
    ports.push(portA, portB);
    issuer = `http://127.0.0.1:${portA}`;
    idp = await startUpstreamIdp({ audience: issuer });
    const secretHash = await hashClientSecret(SECRET);
    keyJson = await sharedKeyJson();
    const keyFile = join(await mkdtemp(join(tmpdir(), 'redaction-')), 'audit.key');
    await writeFile(keyFile, REDACTION_KEY, { mode: 0o600 });
    const clients = await mkdtemp(join(tmpdir(), 'clients-'));
    await writeFile(join(clients, 'replica-agent.yaml'), [
      'client_id: replica-agent', 'name: Replica agent', 'owner: sec@example.com', 'status: active',
      'authentication:', '  method: client_secret_basic', `  secret_hash: "${secretHash}"`,
      'tools:', '  crm: [crm.accounts.read]', 'max_ttl: 5m', '',
    ].join('\n'));
    const yaml = [
      'mode: production', `issuer: ${issuer}`, 'host: 127.0.0.1',
      `catalog_dir: ${await productionSampleCatalog()}`, `clients_dir: ${clients}`,
      'keys_dir: $DIR/keys',
      `attribution: { file: $DIR/attribution.jsonl, sink: redis, redact_users: hash, redaction_key_file: ${keyFile} }`,
      `redis: { url: "${REDIS_URL}", prefix: "${prefix}" }`,
      'admin_keys:', `  - { id: oncall, hash: "${admin.hash}" }`,
      'trusted_issuers:', `  - { issuer: "${idp.issuer}", audiences: ["${issuer}"], algorithms: [ES256] }`, '',
    ].join('\n');
    replicas = await Promise.all([portA, portB].map((port) => startBrokerProcess({ issuer, port, yaml, keyJson })));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    // Attribution chains live under the broker's prefix ({attribution:<replica>} hash tag): cleanupPrefix removes them.
    await idp.close();
    await cleanupPrefix(prefix);
  });

  const exchange = async (replica: BrokerProcess) => rawPost(`${replica.url}/token`, form({
    grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE,
    resource: 'https://crm.example.internal/api', scope: 'crm.accounts.read',
  }), { authorization: basic('replica-agent', SECRET) });

  const adminCall = (replica: BrokerProcess, action: string) => fetch(`${replica.url}/admin/agents/replica-agent/${action}`, {
    method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'replica test' }),
  });

  it('both replicas mint with the same issuer and key', async () => {
    const [a, b] = replicas as [BrokerProcess, BrokerProcess];
    const ra = await exchange(a);
    const rb = await exchange(b);
    expect(ra.status).toBe(200);
    expect(rb.status).toBe(200);
  });

  it('suspended at one replica, refused at the other within a second; reinstated at the other, served by both', async () => {
    const [a, b] = replicas as [BrokerProcess, BrokerProcess];
    const t0 = Date.now();
    expect((await adminCall(a, 'suspend')).status).toBe(200);
    const refused = await exchange(b);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'unauthorized_client' });
    expect(refused.body.access_token).toBeUndefined();
    expect((await adminCall(b, 'reinstate')).status).toBe(200);
    expect((await exchange(a)).status).toBe(200);
    expect((await exchange(b)).status).toBe(200);
  });
  it('each replica keeps its own verifiable attribution chain in Redis, with users pseudonymised', async () => {
    await Promise.all(replicas.map((r) => r.stop()));   // stopping writes each chain's final checkpoint
    const redis = new Redis(REDIS_URL);
    try {
      const { kid, ...jwk } = (JSON.parse(keyJson) as { jwk: Record<string, string> }).jwk;
      const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid, alg: 'ES256' };
      for (const port of ports) {
        const key = `${prefix}{attribution:${hostname()}-${String(port)}}:stream`;
        const lines: string[] = [];
        for await (const line of streamLines(redis, key)) lines.push(line);
        expect(lines.length).toBeGreaterThan(1);
        const result = await verifyLog(lines.join(''), { keys: [publicJwk], requireCheckpointedEnd: true });
        expect(result).toMatchObject({ ok: true });
        const text = lines.join('');
        expect(text).not.toContain('"sub":"alice"');
        expect(text).toContain(userPseudonym(REDACTION_KEY, idp.issuer, 'alice'));
      }
    } finally {
      redis.disconnect();
    }
  });

});
