/**
 * Issue 15 item 3 (validators and introspection): an agent revocation covers every position of `act`
 * (RFC 8693 §4.1), not only the outermost `client_id`. Two broker replicas share one Redis and one signing
 * key; tokens whose chain nests an agent at depth 2 and 3 are minted at replica A before that agent is
 * revoked (at replica A); a validator following replica B's feed, and introspection at replica B, refuse
 * them within the propagation window, while a chain without that agent stays valid.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, type JWTPayload } from 'jose';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { MemorySink } from '../../src/attribution/memory-sink.js';
import { loadSigningKeys } from '../../src/keys/signing-keys.js';
import { createLogger } from '../../src/log.js';
import { createBroker, type Broker } from '../../src/server/create-broker.js';
import { close, listen, serve } from '../../src/server/listen.js';
import { RedisState } from '../../src/state/redis-state.js';
import { TokenValidator, TokenValidationError } from '../../src/sdk/validator/index.js';
import { secretAgent } from '../support/attack-bed.js';
import { baseConfig, trustedIssuer } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../support/token-request.js';

const redisUp = await requireRedis('revoked actors in delegation chains over two replicas');
const SECRET = 'chain-front-agent-secret';

describe.runIf(redisUp)('a revoked agent anywhere in a delegation chain, over two replicas sharing Redis', () => {
  const prefix = uniquePrefix();
  let upstream: TestIssuer;
  let admin: { key: string; hash: string };
  let validatorKey: { key: string; hash: string };
  const replicas: { url: string; server: Server; broker: Broker }[] = [];
  let issuer: string;
  let validator: TokenValidator;

  beforeAll(async () => {
    upstream = await startTestIssuer();
    admin = await createAdminKey('oncall');
    validatorKey = await createAdminKey('crm-service');
    const keys = await loadSigningKeys(await mkdtemp(join(tmpdir(), 'chain-keys-')), { generateIfMissing: true });
    const agents = new Map(await Promise.all(['front-agent', 'planner-agent', 'helper-agent'].map(async (id) => [id, await secretAgent(id, SECRET, { crm: ['crm.accounts.read'] })] as const)));
    const listening = [await listen(undefined, '127.0.0.1', 0), await listen(undefined, '127.0.0.1', 0)];
    issuer = `http://127.0.0.1:${String(listening[0]?.port)}`;
    for (const { server, port } of listening) {
      const broker = createBroker({
        config: baseConfig(issuer, {
          trustedIssuers: [trustedIssuer(upstream.issuer, issuer, { algorithms: ['ES256'] })],
          adminKeys: [{ id: 'oncall', hash: admin.hash }],
          validatorKeys: [{ id: 'crm-service', hash: validatorKey.hash }],
        }),
        catalog: testCatalog(),
        agents: { agents },
        keys,
        sink: new MemorySink(),
        log: createLogger('silent'),
        state: await RedisState.connect({ url: REDIS_URL, prefix }),
      });
      serve(server, broker.app.callback());
      replicas.push({ url: `http://127.0.0.1:${String(port)}`, server, broker });
    }
    // The validator reads metadata and keys from the issuer (replica A) and follows replica B's feed.
    validator = await TokenValidator.create({ issuer, resource: CRM, revocation: { key: validatorKey.key, feedUrl: `${replicas[1]?.url ?? ''}/revocations/stream` } });
  }, 30_000);

  afterAll(async () => {
    validator.close();
    for (const r of replicas) {
      r.broker.close();
      await close(r.server, 0);
      await r.broker.state.close();
    }
    await upstream.close();
    await cleanupPrefix(prefix);
  });

  /** front-agent exchanges, at replica A, a user token whose own `act` chain is `act`. */
  async function mintWithChain(act: JWTPayload['act']): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const subject = await upstream.sign({ iss: upstream.issuer, sub: 'alice', aud: issuer, scope: 'crm.read', iat: now, exp: now + 600, jti: crypto.randomUUID(), act });
    const res = await rawPost(`${replicas[0]?.url ?? ''}/token`, form({ grant_type: TE_GRANT, subject_token: subject, subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read' }), { authorization: basic('front-agent', SECRET) });
    expect(res.status).toBe(200);
    return String(res.body.access_token);
  }

  async function verdict(token: string): Promise<'accepted' | 'revoked'> {
    try {
      await validator.validate(`Bearer ${token}`);
      return 'accepted';
    } catch (err) {
      if (err instanceof TokenValidationError && /revoked/u.test(err.description)) return 'revoked';
      throw err;
    }
  }

  const introspectAtB = async (token: string) => (await fetch(`${replicas[1]?.url ?? ''}/introspect`, {
    method: 'POST', headers: { authorization: `Bearer ${validatorKey.key}`, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ token }),
  })).json() as Promise<Record<string, unknown>>;

  it('refuses chains of depth 2 and 3 nesting the revoked agent, at the validator and at introspection, within the window', async () => {
    const depth2 = await mintWithChain({ sub: 'planner-agent' });
    const depth3 = await mintWithChain({ sub: 'helper-agent', act: { sub: 'planner-agent' } });
    const clean = await mintWithChain({ sub: 'helper-agent' });
    expect(decodeJwt(depth3).act).toEqual({ sub: 'front-agent', act: { sub: 'helper-agent', act: { sub: 'planner-agent' } } });
    for (const token of [depth2, depth3, clean]) {
      expect(await verdict(token)).toBe('accepted');
      expect(await introspectAtB(token)).toMatchObject({ active: true });
    }

    const res = await fetch(`${replicas[0]?.url ?? ''}/admin/agents/planner-agent/revoke`, { method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'compromised planner' }) });
    expect(res.status).toBe(200);
    const revokedAt = Date.now();
    // Introspection reads the shared state directly: at once, at the other replica.
    expect(await introspectAtB(depth2)).toEqual({ active: false });
    expect(await introspectAtB(depth3)).toEqual({ active: false });
    expect(await introspectAtB(clean)).toMatchObject({ active: true });
    // The validator: within the propagation window (1 s).
    await expect.poll(async () => [await verdict(depth2), await verdict(depth3)], { timeout: 1000, interval: 20 }).toEqual(['revoked', 'revoked']);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    expect(await verdict(clean)).toBe('accepted');
  });
});
