/**
 * Not part of `npm run bench`: where one exchange's time goes, step by step, and how many Redis commands it
 * sends. Runs the real createBroker() assembly in this process (the bench broker's configuration: one
 * client_secret_basic agent, rate limits and the kill switch counting, memory sink), sends same-token
 * exchanges over keep-alive HTTP with a few in flight, and prints per step the mean and p50 of the
 * runner's `onStep` durations (wall time of the step, awaits included). With `--redis` the state is Redis
 * (a unique key prefix, deleted at the end) and one exchange after warm-up is watched with MONITOR: every
 * command it sent is listed and counted.
 *
 *   npx tsx bench/exchange-steps.ts [--redis] [--requests N] [--inflight N]
 */
import { parseArgs } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent as HttpAgent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Agent, AgentRegistry } from '../src/domain/agent.js';
import { MemorySink } from '../src/attribution/memory-sink.js';
import { DEFAULT_KILL_SWITCH } from '../src/config/load-broker-config.js';
import { loadSigningKeys } from '../src/keys/signing-keys.js';
import { createLogger } from '../src/log.js';
import { hashClientSecret } from '../src/provider/client-secret-hash.js';
import { createBroker } from '../src/server/create-broker.js';
import { listen, serve, close } from '../src/server/listen.js';
import { RedisState } from '../src/state/redis-state.js';
import { baseConfig, trustedIssuer } from '../test/support/broker-harness.js';
import { testCatalog } from '../test/support/catalog.js';
import { startTestIssuer } from '../test/support/test-issuer.js';
import { AT_TYPE, BENCH_AUDIENCE, BENCH_CLIENT_ID, BENCH_RESOURCE, BENCH_SCOPE, BENCH_SECRET, TE_GRANT } from './protocol.js';

const { values: opts } = parseArgs({ options: { redis: { type: 'boolean', default: false }, requests: { type: 'string', default: '20000' }, inflight: { type: 'string', default: '8' } } });
const total = Number(opts.requests);
const inflight = Number(opts.inflight);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bench-steps:${randomUUID()}:`;

const idp = await startTestIssuer();
const dir = await mkdtemp(join(tmpdir(), 'exchange-steps-'));
const keys = await loadSigningKeys(join(dir, 'keys'), { generateIfMissing: true });
const agent: Agent = {
  clientId: BENCH_CLIENT_ID, name: 'Bench agent', owner: 'bench@example.com', status: 'active',
  authentication: { method: 'client_secret_basic', secretHash: await hashClientSecret(BENCH_SECRET) },
  tools: new Map([['crm', ['crm.accounts.read', 'crm.accounts.write']], ['tickets', ['tickets.read']]]),
  maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'bench',
};
const agents: AgentRegistry = { agents: new Map([[agent.clientId, agent]]) };
const { server, port } = await listen(undefined, '127.0.0.1', 0);
const issuer = `http://127.0.0.1:${port}`;
const state = opts.redis ? await RedisState.connect({ url: redisUrl, prefix }) : undefined;
const NEVER = { limit: 1_000_000_000, windowMs: 60_000 };
const steps = new Map<string, number[]>();
/** Records are counted, not kept: what stays on the heap is the broker's own. */
class DiscardingSink extends MemorySink {
  override append(record: Parameters<MemorySink['append']>[0]): Promise<void> {
    const done = super.append(record);
    this.records.length = 0;
    return done;
  }
}
let recording = false;
/** With HEAP_SNAPSHOT or --expose-gc the step times are not kept (they would be on the heap). */
const skipSteps = typeof (globalThis as { gc?: unknown }).gc === 'function';
const broker = createBroker({
  config: baseConfig(issuer, {
    trustedIssuers: [trustedIssuer(idp.issuer, BENCH_AUDIENCE, { algorithms: ['ES256'] })],
    keysDir: join(dir, 'keys'), rateLimits: { perAgent: NEVER, perAgentTool: NEVER }, killSwitch: DEFAULT_KILL_SWITCH,
  }),
  ...(state ? { state } : {}),
  catalog: testCatalog(), agents, keys, sink: new DiscardingSink(), log: createLogger('silent'),
  tokenHooks: {
    onStep: (name, ms) => {
      if (!recording || skipSteps) return;
      const list = steps.get(name) ?? [];
      list.push(ms * 1000);
      steps.set(name, list);
    },
  },
});
serve(server, broker.callback());

const now = Math.floor(Date.now() / 1000);
const userToken = await idp.sign({ iss: idp.issuer, sub: 'alice', aud: BENCH_AUDIENCE, scope: 'crm.read crm.write tickets.read', iat: now, exp: now + 3600, jti: randomUUID() });
const body = new URLSearchParams({ grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE, resource: BENCH_RESOURCE, scope: BENCH_SCOPE }).toString();
const headers = { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${BENCH_CLIENT_ID}:${BENCH_SECRET}`).toString('base64')}`, 'content-length': String(Buffer.byteLength(body)) };
const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: inflight });

function exchange(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/token', method: 'POST', headers, agent: httpAgent }, (res) => {
      res.resume();
      res.on('end', () => { resolve(res.statusCode ?? 0); });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function run(n: number): Promise<void> {
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (sent < n) {
      sent += 1;
      const status = await exchange();
      if (status !== 200) throw new Error(`exchange answered HTTP ${String(status)}`);
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
}

await run(Math.min(2000, total));
// With --expose-gc: what one exchange leaves on the heap after a full collection (a leak shows as growth).
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const heapBefore = process.memoryUsage().heapUsed;
recording = true;
// ALLOC_PROFILE=<file>: V8's sampling heap profiler over the measured run, counting objects a scavenge
// collected too (what a request allocates, not what survives); summarise with bench/alloc-summary.ts.
const inspector = process.env.ALLOC_PROFILE ? new (await import('node:inspector')).Session() : undefined;
const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => {
  inspector?.post(method, params, (err, result) => { if (err) reject(err); else resolve(result); });
});
if (inspector) {
  inspector.connect();
  await post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
}
const cpuBefore = process.cpuUsage();
const started = process.hrtime.bigint();
await run(total);
const wallUs = Number(process.hrtime.bigint() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
if (inspector && process.env.ALLOC_PROFILE) {
  const { profile } = await post('HeapProfiler.stopSampling') as { profile: unknown };
  (await import('node:fs')).writeFileSync(process.env.ALLOC_PROFILE, JSON.stringify(profile));
  inspector.disconnect();
}
recording = false;
if (gc) {
  gc();
  console.log(`heap retained after a full GC: ${((process.memoryUsage().heapUsed - heapBefore) / total).toFixed(0)} bytes per exchange`);
  if (process.env.HEAP_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.HEAP_SNAPSHOT);
}

const rows = [...steps].map(([name, list]) => {
  list.sort((a, b) => a - b);
  return { name, mean: list.reduce((a, b) => a + b, 0) / list.length, p50: list[Math.floor(list.length / 2)] ?? 0 };
});
const sum = rows.reduce((a, r) => a + r.mean, 0);
console.log(`${String(total)} same-token exchanges, ${String(inflight)} in flight, state ${opts.redis ? 'redis' : 'memory'}: ${(wallUs / total).toFixed(0)} µs wall, ${((cpu.user + cpu.system) / total).toFixed(0)} µs CPU (this process: broker and client) per exchange`);
console.log('| step | mean µs | p50 µs |\n|---|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.mean.toFixed(1)} | ${r.p50.toFixed(1)} |`);
console.log(`| (all steps) | ${sum.toFixed(1)} | |`);

if (state) {
  const monitor = await new Redis(redisUrl).monitor();
  const commands: string[] = [];
  monitor.on('monitor', (_time: string, args: string[]) => { if (args.some((a) => a.includes(prefix))) commands.push(args.map((a) => a.replace(prefix, '')).join(' ').slice(0, 120)); });
  await new Promise((resolve) => setTimeout(resolve, 200));
  commands.length = 0;
  await exchange();
  await new Promise((resolve) => setTimeout(resolve, 200));
  monitor.disconnect();
  console.log(`\nRedis commands for one exchange (key prefix removed): ${String(commands.length)}`);
  for (const c of commands) console.log(`  ${c}`);
}

httpAgent.destroy();
broker.close();
await close(server);
if (state) {
  const keys = await state.redis.keys(`${prefix}*`);
  if (keys.length > 0) await state.redis.del(...keys);
  await state.close();
}
await idp.close();
await rm(dir, { recursive: true, force: true });
