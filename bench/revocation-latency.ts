/**
 * Revocation propagation latency (issue targets: p99 <= 1 s), measured, not asserted:
 *  - replica -> replica: suspend an agent at broker A (admin API), then time until broker B, sharing Redis,
 *    refuses the agent's next exchange;
 *  - broker -> validator: time until a validation SDK following B's revocation feed rejects a live token.
 * Each sample starts when the admin call is sent. Usage: npm run bench:revocation [-- --samples 40]
 */
import { parseArgs } from 'node:util';
import { createAdminKey } from '../src/admin/admin-auth.js';
import { hashClientSecret } from '../src/provider/client-secret-hash.js';
import type { Agent } from '../src/domain/agent.js';
import { RedisState } from '../src/state/redis-state.js';
import { TokenValidator } from '../src/sdk/validator/index.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../test/support/broker-harness.js';
import { CRM, testCatalog } from '../test/support/catalog.js';
import { cleanupPrefix, REDIS_URL, redisAvailable, uniquePrefix } from '../test/support/redis.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../test/support/token-request.js';
import { startUpstreamIdp } from '../test/support/upstream-idp.js';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '40' } } });
const samples = Math.max(5, Number(values.samples));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function main(): Promise<void> {
  if (!(await redisAvailable())) throw new Error(`Redis is required at ${REDIS_URL}`);
  const SECRET = 'revocation-bench-secret';
  const admin = await createAdminKey('bench');
  const validatorKey = await createAdminKey('bench-validator');
  const prefix = uniquePrefix();
  const agent: Agent = {
    clientId: 'bench-agent', name: 'bench', owner: 'bench@example.com', status: 'active',
    authentication: { method: 'client_secret_basic', secretHash: await hashClientSecret(SECRET) },
    tools: new Map([['crm', ['crm.accounts.read']]]), maxTtlSeconds: 600,
    actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'bench',
  };
  const [ra, rb] = [await reserveBroker(), await reserveBroker()];
  const idp = await startUpstreamIdp({ audience: ra.issuer });
  const states = [await RedisState.connect({ url: REDIS_URL, prefix }), await RedisState.connect({ url: REDIS_URL, prefix })] as const;
  const start = (r: typeof ra, state: RedisState) => r.start({
    trustedIssuers: [trustedIssuer(idp.issuer, ra.issuer)], catalog: testCatalog(), agents: [agent], state,
    config: { adminKeys: [{ id: 'bench', hash: admin.hash }], validatorKeys: [{ id: 'bench-validator', hash: validatorKey.hash }] },
  });
  const a: RunningTestBroker = await start(ra, states[0]);
  const b: RunningTestBroker = await start(rb, states[1]);
  const validator = await TokenValidator.create({ issuer: b.issuer, resource: CRM, revocation: { key: validatorKey.key } });
  const userToken = await idp.userToken('alice');
  const exchange = () => rawPost(b.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read' }), { authorization: basic('bench-agent', SECRET) });
  const adminCall = (action: string) => fetch(`${a.issuer}/admin/agents/bench-agent/${action}`, { method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'bench' }) });

  const replica: number[] = [];
  const toValidator: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const live = await exchange();
    if (live.status !== 200) throw new Error(`exchange failed: ${live.status}`);
    const header = `Bearer ${String(live.body.access_token)}`;
    // Rules compare whole seconds: wait so the previous suspension (same second) does not already cover this token.
    await new Promise((r) => setTimeout(r, 1100));
    const t0 = performance.now();
    const suspending = adminCall('suspend');
    let replicaDone = false;
    let validatorDone = false;
    const deadline = t0 + 5000;
    while ((!replicaDone || !validatorDone) && performance.now() < deadline) {
      if (!replicaDone && (await exchange()).status !== 200) {
        replica.push(performance.now() - t0);
        replicaDone = true;
      }
      if (!validatorDone && await validator.validate(header).then(() => false, () => true)) {
        toValidator.push(performance.now() - t0);
        validatorDone = true;
      }
    }
    await suspending;
    await adminCall('reinstate');
  }
  validator.close();
  await a.close();
  await b.close();
  await idp.close();
  for (const s of states) await s.close();
  await cleanupPrefix(prefix);

  const row = (name: string, xs: number[]) => {
    const sorted = [...xs].sort((x, y) => x - y);
    return `| ${name} | ${String(xs.length)}/${String(samples)} | ${percentile(sorted, 50).toFixed(1)} | ${percentile(sorted, 99).toFixed(1)} | ${Math.max(...xs).toFixed(1)} |`;
  };
  console.log(`Revocation propagation, ${new Date().toISOString()}, node ${process.version}, Redis ${REDIS_URL}`);
  console.log('| path | samples | p50 ms | p99 ms | max ms |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(row('replica A -> replica B (shared Redis, next exchange refused)', replica));
  console.log(row('broker -> validator SDK (SSE feed, live token rejected)', toValidator));
  console.log('Each sample starts when the admin call is sent; target p99 <= 1000 ms.');
}

await main();
