/**
 * `npm run bench`: starts every server under test in its own child process (pinned to CPU 0 with taskset
 * where possible), drives it from an autocannon child process (pinned to CPU 1), and prints one table with
 * the broker's figures and the in-run baselines, plus the ratios. Results are also written as JSON to
 * bench/results/<ISO date>.json. See bench/README.md.
 *
 *   npm run bench                       all scenarios, 2 s warm-up + 10 s measured each
 *   npm run bench -- --quick            3 s measured, 1 s warm-up (smoke run)
 *   npm run bench -- --duration 20 --scenarios broker-same,oidc-cc
 *   npm run bench -- --cpu-prof --scenarios broker-same   writes .cpuprofile files of the broker and oidc-provider servers to bench/results/profiles/
 *   npm run bench -- --alternate 30 --scenarios broker-same,broker-durable   the servers side by side, the load
 *                                       alternating between them in 1-s slices for 30 cycles (cost as a paired ratio)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { preloadRevocationRules } from './revocation-rules.js';
import { openSubscribers } from './feed-subscribers.js';
import { Redis } from 'ioredis';
import { decodeJwt } from 'jose';
import { createAdminKey } from '../src/admin/admin-auth.js';
import { startTestIssuer, type TestIssuer } from '../test/support/test-issuer.js';
import {
  AT_TYPE, BENCH_ADMIN_ID, BENCH_AUDIENCE, BENCH_CLIENT_ID, BENCH_RESOURCE, BENCH_SCOPE, BENCH_SECRET, BENCH_VALIDATOR_ID, TE_GRANT,
  type AlternateLoadConfig, type AlternateLoadResult, type AlternateSlice, type BrokerServerConfig, type LoadConfig, type LoadResult, type ServerReady, type UnitConfig, type UnitResult,
  type ValidatorBenchConfig, type ValidatorBenchResult,
} from './protocol.js';
import { cpuSeconds } from './proc-cpu.js';
import { medianInterval, medianOf, quantile } from './stats.js';
import { runSecretFloodScenario } from './secret-flood-scenario.js';
import type { OnwardLoadRequest, OnwardServerConfig } from './servers/onward-broker.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoDir = resolve(benchDir, '..');

// ---------- options ----------
const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
    scenarios: { type: 'string' },
    pool: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    'no-pin': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    soak: { type: 'string' },
    alternate: { type: 'string' },
    slice: { type: 'string' },
    'slice-warmup': { type: 'string' },
    'semi-space': { type: 'string', default: '16' },
    tsx: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

const SCENARIOS = ['broker-same', 'broker-half-rate', 'broker-fresh', 'broker-durable', 'broker-chained', 'broker-delayed', 'broker-durable-fresh', 'broker-redis', 'broker-durable-redis', 'oidc-cc', 'koa', 'koa-half-rate', 'unit', 'validator', 'validator-1m-rules', 'broker-feed-subscribers', 'broker-secret-flood', 'onward-cached', 'onward-uncached'] as const;
type ScenarioId = (typeof SCENARIOS)[number];
const isScenario = (s: string): s is ScenarioId => (SCENARIOS as readonly string[]).includes(s);

if (opts.help) {
  console.log(`usage: npm run bench -- [--quick] [--duration S] [--warmup S] [--connections N] [--pool N] [--rounds N] [--scenarios ${SCENARIOS.join(',')}] [--no-pin] [--cpu-prof] [--semi-space MiB (default 16, 0 = node default)] [--tsx (servers through tsx, as npm start runs, instead of compiled)]`);
  console.log('       npm run bench -- --soak S       broker-same (durable sink) at half of its saturation rate for S seconds; memory at start and end');
  console.log('       npm run bench -- --alternate N --scenarios broker-same,broker-durable[,...] [--slice S (default 1)] [--slice-warmup S (default 0.25)]');
  console.log('                                       broker servers side by side, the load alternating between them for N cycles; per-cycle ratios to the first');
  process.exit(0);
}

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${raw}`);
  return n;
}
const durationSeconds = positive('duration', opts.duration, opts.quick ? 3 : 10);
const warmupSeconds = positive('warmup', opts.warmup, opts.quick ? 1 : 2);
const connections = Math.round(positive('connections', opts.connections, 50));
const selected: ScenarioId[] = [];
for (const s of (opts.scenarios ?? SCENARIOS.join(',')).split(',').map((x) => x.trim()).filter((x) => x.length > 0)) {
  if (!isScenario(s)) throw new Error(`unknown scenario '${s}' (known: ${SCENARIOS.join(', ')})`);
  if (!selected.includes(s)) selected.push(s);
}
selected.sort((a, b) => SCENARIOS.indexOf(a) - SCENARIOS.indexOf(b));
const isHalfRate = (id: ScenarioId): boolean => id.endsWith('-half-rate');
if (selected.some(isHalfRate) && !selected.includes('broker-same')) throw new Error('the -half-rate scenarios need broker-same (their rate is half of broker-same\'s throughput in the same round)');
const rounds = Math.round(positive('rounds', opts.rounds, 1));
const needsFresh = selected.some((s) => s.endsWith('-fresh'));
const poolSize = Math.round(positive('pool', opts.pool, opts.quick ? 10_000 : 30_000));

const tasksetOk = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
const pinned = !opts['no-pin'] && tasksetOk && availableParallelism() >= 2;
const profileDir = join(benchDir, 'results', 'profiles');
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// Every server under test runs with the young-generation size the Docker image uses (Dockerfile ENTRYPOINT):
// fewer scavenges and less premature promotion under a high allocation rate. `--semi-space 0` = Node's default.
const semiSpaceMiB = Number(opts['semi-space']);
if (!Number.isInteger(semiSpaceMiB) || semiSpaceMiB < 0) throw new Error(`--semi-space must be a whole number of MiB, got ${opts['semi-space']}`);
const serverNodeArgs: readonly string[] = [
  ...(semiSpaceMiB > 0 ? [`--max-semi-space-size=${semiSpaceMiB}`] : []),
  ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0),
];
// With BENCH_SERVER_STDOUT_DIR set, each server's stdout (e.g. what --trace-gc-nvp prints) is also appended
// to <dir>/<pid>.txt (stderr is relayed to the bench output as always).
const stdoutDir = process.env.BENCH_SERVER_STDOUT_DIR;
if (stdoutDir !== undefined) await mkdir(stdoutDir, { recursive: true });
// The orchestrator (and the bench IdP it serves) stays off the servers' core too: CPU 1, with the load generator.
if (pinned) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

// The servers under test run as the broker ships (`npm run build`, bin dist/cli/main.js): compiled by tsc,
// run by plain node. Through tsx (`--tsx`, as `npm start` runs), esbuild's keepNames wraps every closure
// created per request in a `__name` call (Object.defineProperty), ~3 % of the broker's CPU per request in a
// profile, which the plain-JS baselines (oidc-provider, koa) never pay. Load generators keep tsx.
const compiledServers = !opts.tsx;
if (compiledServers) {
  const built = spawnSync(process.execPath, [join(repoDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(benchDir, 'tsconfig.servers.json')], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('bench: compiling the servers (bench/tsconfig.servers.json) failed');
}

// ---------- child processes ----------
function command(script: string, cpu: number, nodeArgs: readonly string[]): { cmd: string; args: string[] } {
  const args = compiledServers && script.startsWith('servers/')
    ? [...nodeArgs, join(benchDir, '.build', 'bench', script.replace(/\.ts$/u, '.js'))]
    : [...nodeArgs, '--import', 'tsx', join(benchDir, script)];
  return pinned ? { cmd: 'taskset', args: ['-c', String(cpu), process.execPath, ...args] } : { cmd: process.execPath, args };
}

function spawnChild(script: string, config: unknown, cpu: number, nodeArgs: readonly string[] = []): ChildProcess {
  const { cmd, args } = command(script, cpu, nodeArgs);
  return spawn(cmd, args, {
    cwd: repoDir,
    env: { ...process.env, BENCH_CONFIG: JSON.stringify(config), NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

interface RunningServer { readonly url: string; readonly pid: number | undefined; stop(): Promise<void> }

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((res) => child.once('exit', (code) => { res(code); }));
}

async function startServer(script: string, config: unknown, nodeArgs: readonly string[] = [], cpu = 0): Promise<RunningServer> {
  const child = spawnChild(script, config, cpu, [...serverNodeArgs, ...nodeArgs]);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const ready = await new Promise<ServerReady>((res, rej) => {
    let out = '';
    const timer = setTimeout(() => { rej(new Error(`${script} did not start in 30 s: ${stderr}`)); }, 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (stdoutDir !== undefined && child.pid !== undefined) appendFileSync(join(stdoutDir, `${String(child.pid)}.txt`), d);
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('READY '));
      if (line) { clearTimeout(timer); res(JSON.parse(line.slice(6)) as ServerReady); }
    });
    child.once('exit', (code) => { clearTimeout(timer); rej(new Error(`${script} exited (${code ?? 'signal'}) before it was ready: ${stderr}`)); });
  });
  return {
    url: ready.url,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited(child);
      clearTimeout(timer);
      if (stderr.trim().length > 0) process.stderr.write(`[${script} stderr] ${stderr.trim().slice(0, 2000)}\n`);
    },
  };
}

async function runJsonChild<T>(script: string, config: unknown): Promise<T> {
  return runJsonChildOn<T>(script, config, 1);
}

async function runJsonChildOn<T>(script: string, config: unknown, cpu: number): Promise<T> {
  const child = spawnChild(script, config, cpu);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await exited(child);
  const last = out.trim().split('\n').at(-1);
  if (code !== 0 || last === undefined || last.length === 0) throw new Error(`${script} failed (exit ${code ?? 'signal'}): ${err.trim().slice(0, 2000)}`);
  return JSON.parse(last) as T;
}

// ---------- requests ----------
const basic = `Basic ${Buffer.from(`${encodeURIComponent(BENCH_CLIENT_ID)}:${encodeURIComponent(BENCH_SECRET)}`).toString('base64')}`;
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic };
const exchangeBody = (token: string): string => new URLSearchParams({
  grant_type: TE_GRANT, subject_token: token, subject_token_type: AT_TYPE, resource: BENCH_RESOURCE, scope: BENCH_SCOPE,
}).toString();

function userClaims(issuer: TestIssuer, sub: string): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: issuer.issuer, sub, aud: BENCH_AUDIENCE, scope: 'crm.read crm.write tickets.read', iat: now, exp: now + 3 * 3600, jti: crypto.randomUUID() };
}

/** A broker scenario: the server's configuration (sink, state) and the requests it gets. */
function brokerScenario(id: ScenarioId, issuer: TestIssuer, sameToken: string, poolFile: string | undefined): {
  config: BrokerServerConfig;
  load: Pick<LoadConfig, 'headers' | 'body' | 'tokenPoolFile' | 'expect'>;
} {
  const redisPrefix = `bench:${randomUUID()}:`;
  if (id.includes('redis')) redisPrefixes.push(redisPrefix);
  const fresh = id.endsWith('-fresh');
  return {
    config: {
      upstreamIssuer: issuer.issuer,
      sink: id.includes('durable') ? 'jsonl' : id === 'broker-chained' ? 'chained' : id === 'broker-delayed' ? 'delayed' : 'memory',
      ...(id.includes('redis') ? { state: { kind: 'redis', url: redisUrl, prefix: redisPrefix } } : {}),
    },
    load: {
      headers: formHeaders,
      body: exchangeBody(fresh ? '{{TOKEN}}' : sameToken).replace(encodeURIComponent('{{TOKEN}}'), '{{TOKEN}}'),
      ...(fresh && poolFile ? { tokenPoolFile: poolFile } : {}),
      expect: 'access_token',
    },
  };
}

// ---------- results ----------
interface Row {
  readonly id: ScenarioId;
  readonly what: string;
  readonly perSec: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly load?: LoadResult;
  readonly unit?: UnitResult;
  readonly validator?: ValidatorBenchResult;
  readonly error?: string;
  /** The server process's CPU use during warm-up + measured run, % of one core (from /proc). */
  readonly serverCpuPct?: number;
  /** req/s (ops/s) of every round; the row's figures are those of the median round. */
  readonly rounds?: readonly number[];
  /** Server CPU µs per request during the measured run of every round (NaN where not measured). */
  readonly cpuRounds?: readonly number[];
}

/** Server CPU time (all threads) per request in µs during the measured run, when /proc told. */
function cpuPerRequestUs(row: Row): number | undefined {
  const seconds = row.load?.serverCpuSeconds;
  const total = row.load?.total;
  return seconds === undefined || total === undefined || total === 0 ? undefined : (seconds * 1e6) / total;
}

const DESCRIPTIONS: Record<ScenarioId, string> = {
  'broker-same': 'broker exchange, same user token, memory sink',
  'broker-half-rate': 'broker-same at a fixed 50 % of its saturation rate',
  'broker-fresh': 'broker exchange, fresh user token/request, memory sink',
  'broker-durable': 'broker exchange, same user token, JSONL fsync sink',
  'broker-chained': 'as broker-durable, records chained but not written',
  'broker-delayed': 'chained, not written, released after a 1 ms timer',
  'broker-durable-fresh': 'broker exchange, fresh user token, JSONL fsync sink',
  'broker-redis': 'broker-same with shared state in Redis (rate limits, status)',
  'broker-durable-redis': 'as deployed with replicas: JSONL fsync sink + Redis state',
  'oidc-cc': 'oidc-provider client_credentials, ES256 JWT AT',
  koa: 'bare koa + @koa/router form POST, 600 B JSON',
  'koa-half-rate': 'bare koa at broker-half-rate\'s rate (latency floor)',
  unit: 'in-process jose ES256 verify + sign (ops/s)',
  validator: 'validation SDK incl. revocation feed (tokens/s, 1 core)',
  'validator-1m-rules': 'as validator, with 1,000,000 revocation rules (Redis state)',
  'broker-feed-subscribers': 'broker-same with 1,000 revocation-feed subscribers (100 never read), a revocation every second',
  'broker-secret-flood': 'legit exchanges at 200/s beside 128 conns of wrong secrets, JSONL fsync sink',
  'onward-cached': 'onward exchange (tool identity, jwt_bearer), SaaS credential from the broker cache',
  'onward-uncached': 'onward exchange (tool identity, jwt_bearer), a fresh SaaS credential per request',
};

const redisPrefixes: string[] = [];

async function removeRedisKeys(prefixes: readonly string[]): Promise<void> {
  if (prefixes.length === 0) return;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
  } catch {
    // Redis was not there: the scenario failed and said so; nothing to clean.
  } finally {
    redis.disconnect();
  }
}

/** Exchanges `count` broker tokens from a running broker (each with its own jti), `parallel` at a time. */
async function mintBrokerTokens(brokerUrl: string, userToken: string, count: number, parallel = 8): Promise<string[]> {
  const tokens: string[] = [];
  const one = async (): Promise<void> => {
    const res = await fetch(`${brokerUrl}/token`, { method: 'POST', headers: formHeaders, body: exchangeBody(userToken) });
    const body = await res.json() as { access_token?: string; error?: string };
    if (!res.ok || body.access_token === undefined) throw new Error(`exchange for the validator pool failed: HTTP ${res.status} ${body.error ?? ''}`);
    tokens.push(body.access_token);
  };
  for (let i = 0; i < count; i += parallel) await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, one));
  return tokens;
}

/**
 * The validator scenario: a broker (on the load core: it only serves keys and the revocation feed) mints a
 * pool of tokens; the first is revoked through the admin API; the validator child on the server core checks
 * that revocation reached it and measures the SDK against bare jose.jwtVerify on the same tokens.
 */
async function runValidatorScenario(issuer: TestIssuer, userToken: string, times: { warmupSeconds: number; durationSeconds: number }, tmp: string, rules = 0): Promise<ValidatorBenchResult> {
  const admin = await createAdminKey(BENCH_ADMIN_ID);
  const validatorKey = await createAdminKey(BENCH_VALIDATOR_ID);
  // With rules: Redis state preloaded with that many token rules (bench/revocation-rules.ts).
  const redisState = rules > 0 ? { kind: 'redis' as const, url: redisUrl, prefix: `bench:${randomUUID()}:` } : undefined;
  if (redisState) {
    redisPrefixes.push(redisState.prefix);
    await preloadRevocationRules(redisState.url, redisState.prefix, rules);
  }
  const cfg: BrokerServerConfig = { upstreamIssuer: issuer.issuer, sink: 'memory', adminKeyHash: admin.hash, validatorKeyHash: validatorKey.hash, ...(redisState ? { state: redisState } : {}) };
  const broker = await startServer('servers/broker.ts', cfg, [], 1);
  try {
    const tokens = await mintBrokerTokens(broker.url, userToken, 2000);
    const jti = decodeJwt(tokens[0] ?? '').jti;
    const res = await fetch(`${broker.url}/admin/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'token', value: jti, reason: 'bench: the validator must refuse this one' }),
    });
    if (res.status !== 201) throw new Error(`revoking the first pool token failed: HTTP ${res.status}`);
    const tokensFile = join(tmp, 'broker-tokens.txt');
    await writeFile(tokensFile, `${tokens.join('\n')}\n`);
    const config: ValidatorBenchConfig = { brokerIssuer: broker.url, resource: BENCH_RESOURCE, validatorKey: validatorKey.key, tokensFile, ...times, ...(rules > 0 ? { snapshotTimeoutMs: 300_000 } : {}) };
    const result = await runJsonChildOn<ValidatorBenchResult>('validator.ts', config, 0);
    if (!result.revokedRefused) throw new Error('the revoked token was not refused: the revocation check did not run');
    return result;
  } finally {
    await broker.stop();
  }
}

/** Resident memory of a process in MiB, from /proc (Linux); undefined elsewhere. */
async function rssMiB(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB$/mu.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/**
 * `--soak S`: the production-shaped broker (durable JSONL sink, rate limits and kill switch counting) under a
 * fixed open-loop load with a fresh user token per request (so the verified-token cache fills and evicts),
 * for S seconds in 30-s slices. Reports memory after each slice, latency, and every error; the verdict
 * compares the end with the first slice (after warm-up) and with the middle of the run.
 */
async function soak(seconds: number): Promise<void> {
  const started = new Date();
  const log = (msg: string): void => { process.stderr.write(`${msg}\n`); };
  const rate = Math.round(positive('soak-rate', process.env.BENCH_SOAK_RATE, 1000));
  log(`soak: ${seconds} s at ${rate} req/s, fresh user token per request, durable JSONL sink | ${pinned ? 'pinned' : 'NOT pinned'}`);
  const issuer = await startTestIssuer();
  const tmp = await mkdtemp(join(tmpdir(), 'broker-soak-'));
  const samples: { t: number; rssMiB: number | undefined; reqPerSec: number; p99Ms: number; non2xx: number; errors: number }[] = [];
  try {
    log(`signing a pool of ${poolSize} distinct user tokens...`);
    const tokens: string[] = [];
    for (let i = 0; i < poolSize; i += 1) tokens.push(await issuer.sign(userClaims(issuer, `user-${i}`)));
    const poolFile = join(tmp, 'tokens.txt');
    await writeFile(poolFile, `${tokens.join('\n')}\n`);
    const server = await startServer('servers/broker.ts', { upstreamIssuer: issuer.issuer, sink: 'jsonl' } satisfies BrokerServerConfig);
    try {
      const rss0 = await rssMiB(server.pid);
      log(`  start: RSS ${fmt(rss0, 1)} MiB`);
      const slice = Math.min(30, seconds);
      for (let done = 0; done < seconds; done += slice) {
        const r = await runJsonChild<LoadResult>('load.ts', {
          url: `${server.url}/token`, headers: formHeaders, body: exchangeBody('{{TOKEN}}').replace(encodeURIComponent('{{TOKEN}}'), '{{TOKEN}}'),
          tokenPoolFile: poolFile, connections, warmupSeconds: done === 0 ? warmupSeconds : 0.001, durationSeconds: slice, overallRate: rate, expect: 'access_token',
        } satisfies LoadConfig);
        const sample = { t: done + slice, rssMiB: await rssMiB(server.pid), reqPerSec: r.reqPerSec, p99Ms: r.p99Ms, non2xx: r.non2xx, errors: r.errors + r.timeouts };
        samples.push(sample);
        log(`  ${String(sample.t).padStart(5)} s: RSS ${fmt(sample.rssMiB, 1)} MiB | ${fmt(r.reqPerSec)} req/s | p99 ${fmt(r.p99Ms, 1)} ms | non-2xx ${r.non2xx} | errors ${r.errors + r.timeouts}`);
      }
    } finally {
      await server.stop();
    }
  } finally {
    await issuer.close();
    await rm(tmp, { recursive: true, force: true });
  }
  const first = samples[0]?.rssMiB;
  const middle = samples[Math.floor((samples.length - 1) / 2)]?.rssMiB;
  const last = samples.at(-1)?.rssMiB;
  const errors = samples.reduce((n, x) => n + x.non2xx + x.errors, 0);
  const growth = first !== undefined && last !== undefined ? (last - first) / first : undefined;
  const flat = growth !== undefined && growth <= 0.25 && (middle === undefined || last === undefined || last <= middle * 1.15);
  console.log('');
  console.log(`Soak ${started.toISOString()} | ${cpus()[0]?.model ?? 'cpu?'} ×${cpus().length} | node ${process.version} | ${seconds} s at ${rate} req/s`);
  console.log(`memory (RSS) after the first slice ${fmt(first, 1)} MiB, middle ${fmt(middle, 1)} MiB, end ${fmt(last, 1)} MiB (${growth === undefined ? '?' : `${fmt(growth * 100, 1)} %`}): ${flat ? 'FLAT' : 'GROWING'}`);
  console.log(`errors: ${errors === 0 ? 'none' : errors} (non-2xx + socket errors + timeouts over ${samples.length} slices)`);
  const resultsDir = join(benchDir, 'results');
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `soak-${started.toISOString().replace(/[:]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify({ date: started.toISOString(), seconds, rate, pinned, samples, verdict: { flat, errors } }, null, 2)}\n`);
  console.log(`results written to ${file}`);
  if (!flat || errors > 0) process.exitCode = 1;
}

/**
 * `--alternate N`: the selected broker scenarios' servers run side by side on the servers' core and one load
 * generator (alternate-load.ts) moves between them in short slices for N cycles, every server once per cycle,
 * the order reversed every other cycle. The first scenario (table order) is the baseline; every other one is
 * reported as the median of its per-cycle ratios to it, with a distribution-free 95 % interval of that median.
 * Slices of the same cycle are seconds apart instead of the minutes between rounds, so the machine's drifts
 * cancel far better than in the interleaved rounds of the table (see bench/README.md).
 */
async function alternate(cycles: number): Promise<void> {
  const started = new Date();
  const log = (msg: string): void => { process.stderr.write(`${msg}\n`); };
  const sliceSeconds = positive('slice', opts.slice, 1);
  const sliceWarmupSeconds = opts['slice-warmup'] === '0' ? 0 : positive('slice-warmup', opts['slice-warmup'], 0.25);
  const brokers = selected.filter((id) => id.startsWith('broker') && !isHalfRate(id));
  if (brokers.length < 2 || brokers.length !== selected.length) {
    throw new Error(`--alternate compares broker scenarios at saturation: name two or more of ${SCENARIOS.filter((id) => id.startsWith('broker') && !isHalfRate(id)).join(', ')}`);
  }
  const fresh = brokers.filter((id) => id.endsWith('-fresh'));
  if (fresh.length !== 0 && fresh.length !== brokers.length) throw new Error('--alternate: the scenarios must all use the same token or all fresh tokens (they share one load generator)');
  log(`bench --alternate: ${brokers.join(' vs ')} | ${cycles} cycles of ${sliceSeconds} s slices (+ ${sliceWarmupSeconds} s unmeasured before each) | ${connections} connections | ${pinned ? 'PINNED: servers on CPU 0, load generator and orchestrator on CPU 1 (taskset)' : 'NOT pinned'}`);
  const issuer = await startTestIssuer();
  const tmp = await mkdtemp(join(tmpdir(), 'broker-bench-alternate-'));
  const servers: RunningServer[] = [];
  let slices: readonly AlternateSlice[] = [];
  try {
    const sameToken = await issuer.sign(userClaims(issuer, 'alice'));
    let poolFile: string | undefined;
    if (fresh.length > 0) {
      log(`signing a pool of ${poolSize} distinct user tokens...`);
      const tokens: string[] = [];
      for (let i = 0; i < poolSize; i += 1) tokens.push(await issuer.sign(userClaims(issuer, `user-${i}`)));
      poolFile = join(tmp, 'tokens.txt');
      await writeFile(poolFile, `${tokens.join('\n')}\n`);
    }
    const scenarios = brokers.map((id) => ({ id, ...brokerScenario(id, issuer, sameToken, poolFile) }));
    for (const s of scenarios) servers.push(await startServer('servers/broker.ts', s.config));
    const load = scenarios[0]?.load;
    if (load === undefined) throw new Error('no scenario');
    const config: AlternateLoadConfig = {
      ...load,
      targets: scenarios.map((s, i) => ({ id: s.id, url: `${servers[i]?.url ?? ''}/token`, ...(servers[i]?.pid !== undefined ? { serverPid: servers[i].pid } : {}) })),
      connections,
      warmupSeconds,
      sliceWarmupSeconds,
      sliceSeconds,
      cycles,
    };
    slices = (await runJsonChild<AlternateLoadResult>('alternate-load.ts', config)).slices;
  } finally {
    for (const server of servers) await server.stop();
    await removeRedisKeys(redisPrefixes);
    await issuer.close();
    await rm(tmp, { recursive: true, force: true });
  }

  const of = (target: number): AlternateSlice[] => slices.filter((x) => x.target === target);
  const usPerRequest = (x: AlternateSlice): number => (x.serverCpuSeconds === undefined || x.total === 0 ? Number.NaN : (x.serverCpuSeconds * 1e6) / x.total);
  const sortedFinite = (values: readonly number[]): number[] => values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  console.log('');
  console.log(`Alternating benchmark ${started.toISOString()} | ${cpus()[0]?.model ?? 'cpu?'} ×${cpus().length} | node ${process.version}`);
  console.log(`${connections} connections, ${cycles} cycles of ${sliceSeconds} s per server (+ ${sliceWarmupSeconds} s unmeasured before each slice), order reversed every other cycle | servers: ${compiledServers ? 'compiled (tsc)' : 'through tsx'}, ${serverNodeArgs.length > 0 ? serverNodeArgs.join(' ') : 'node defaults'} | load average now ${loadavg().map((l) => l.toFixed(2)).join(' ')} | ${pinned ? 'pinned' : 'NOT pinned'}`);
  console.log('');
  console.log('| scenario | what | median req/s | slices min–max | median CPU µs/req | median p99 ms | non-2xx/err |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  brokers.forEach((id, target) => {
    const own = of(target);
    const thr = sortedFinite(own.map((x) => x.reqPerSec));
    console.log(`| ${id} | ${DESCRIPTIONS[id]} | ${fmt(medianOf(thr))} | ${spread(thr)} | ${fmt(medianOf(sortedFinite(own.map(usPerRequest))))} | ${fmt(medianOf(sortedFinite(own.map((x) => x.p99Ms))), 1)} | ${own.reduce((n, x) => n + x.non2xx, 0)}/${own.reduce((n, x) => n + x.errors, 0)} |`);
  });
  console.log('');
  const summary: Record<string, number | string | boolean> = { pinned };
  const idle = sortedFinite(slices.map((x) => x.idleServersCpuSeconds ?? Number.NaN));
  const spacing = sortedFinite(slices.slice(1).map((x, i) => x.startedMs - (slices[i]?.startedMs ?? Number.NaN)));
  if (spacing.length > 0) console.log(`one slice every ${fmt(medianOf(spacing) / 1000, 2)} s (median, including autocannon's start and end)`);
  if (idle.length > 0) console.log(`the idle servers during each slice: ${fmt(medianOf(idle) * 1000)} ms of CPU (median; max ${fmt((idle.at(-1) ?? 0) * 1000)} ms per ${sliceSeconds} s slice)`);
  const base = of(0);
  brokers.slice(1).forEach((id, k) => {
    const own = of(k + 1);
    // A slice that answered nothing is a stall of the machine, not a measurement: its cycle is left out.
    const all = own.map((x) => ({ x, b: base.find((y) => y.cycle === x.cycle) }));
    const paired = all.filter(({ x, b }) => x.total > 0 && b !== undefined && b.total > 0);
    const thr = sortedFinite(paired.map(({ x, b }) => x.reqPerSec / (b?.reqPerSec ?? Number.NaN)));
    const cpu = sortedFinite(paired.map(({ x, b }) => usPerRequest(x) / (b === undefined ? Number.NaN : usPerRequest(b))));
    const ci = medianInterval(thr);
    const cost = (1 - medianOf(thr)) * 100;
    const target = id === 'broker-durable' && brokers[0] === 'broker-same' ? ' (target ≤ 10 %)' : id === 'broker-durable-fresh' && brokers[0] === 'broker-fresh' ? ' (target ≤ 10 %)' : '';
    summary[`${id}VsBaselineThroughput`] = medianOf(thr);
    summary[`${id}VsBaselineCpuPerRequest`] = medianOf(cpu);
    console.log(`${id} vs ${brokers[0] ?? ''}: throughput ${fmt(medianOf(thr), 3)}× = cost ${fmt(cost, 1)} %${target}; 95 % interval of the median ${ci ? `${fmt((1 - ci[1]) * 100, 1)}–${fmt((1 - ci[0]) * 100, 1)} %` : 'needs ≥ 6 cycles'}; quartiles ${fmt(quantile(thr, 0.25), 3)}–${fmt(quantile(thr, 0.75), 3)}×; ${thr.length} cycles${all.length > paired.length ? ` (${all.length - paired.length} with a stalled slice left out)` : ''}`);
    console.log(`${id} vs ${brokers[0] ?? ''}: server CPU per request ${fmt(medianOf(cpu), 3)}× (quartiles ${fmt(quantile(cpu, 0.25), 3)}–${fmt(quantile(cpu, 0.75), 3)}×)`);
  });
  const resultsDir = join(benchDir, 'results');
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `alternate-${started.toISOString().replace(/[:]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify({
    date: started.toISOString(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    options: { cycles, sliceSeconds, sliceWarmupSeconds, warmupSeconds, connections, pinned, scenarios: brokers, serverNodeArgs, compiledServers },
    slices,
    summary,
  }, null, 2)}\n`);
  console.log(`\nresults written to ${file}`);
  if (slices.some((x) => x.non2xx > 0 || x.errors > 0)) process.exitCode = 1;
}

async function main(): Promise<void> {
  const started = new Date();
  const log = (msg: string): void => { process.stderr.write(`${msg}\n`); };
  log(`bench: ${selected.join(', ')} | ${connections} connections, ${warmupSeconds} s warm-up + ${durationSeconds} s measured | ${pinned ? 'PINNED: servers on CPU 0, load generator and orchestrator on CPU 1 (taskset)' : 'NOT pinned'}`);

  const issuer = await startTestIssuer();
  const tmp = await mkdtemp(join(tmpdir(), 'broker-bench-run-'));
  const rows: Row[] = [];
  const loadAverageBefore = loadavg();
  try {
    const sameToken = await issuer.sign(userClaims(issuer, 'alice'));
    let poolFile: string | undefined;
    if (needsFresh) {
      log(`signing a pool of ${poolSize} distinct user tokens...`);
      const tokens: string[] = [];
      for (let i = 0; i < poolSize; i += 1) tokens.push(await issuer.sign(userClaims(issuer, `user-${i}`)));
      poolFile = join(tmp, 'tokens.txt');
      await writeFile(poolFile, `${tokens.join('\n')}\n`);
    }
    const loadBase = { connections, warmupSeconds, durationSeconds };
    const brokerNodeArgs = opts['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    if (opts['cpu-prof']) await mkdir(profileDir, { recursive: true });

    const perRound = new Map<ScenarioId, Row[]>();
    const attemptsOf = (id: ScenarioId): Row[] => perRound.get(id) ?? [];
    for (let round = 1; round <= rounds; round += 1) {
      for (const id of roundOrder(round)) {
        log(`- ${rounds > 1 ? `round ${round}/${rounds} ` : ''}${id}: ${DESCRIPTIONS[id]} (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
        const attempts = perRound.get(id) ?? [];
        perRound.set(id, attempts);
        try {
          if (id === 'validator' || id === 'validator-1m-rules') {
            const result = await runValidatorScenario(issuer, sameToken, { warmupSeconds, durationSeconds }, tmp, id === 'validator-1m-rules' ? 1_000_000 : 0);
            attempts.push({ id, what: DESCRIPTIONS[id], perSec: result.validatorPerSec, validator: result });
            continue;
          }
          if (id === 'unit') {
            const cfg: UnitConfig = { warmupSeconds, durationSeconds };
            // The unit runs on the servers' core: it is the ceiling of one server core.
            const unit = await runJsonChildOnServerCore(cfg);
            attempts.push({ id, what: DESCRIPTIONS[id], perSec: unit.opsPerSec, unit });
            continue;
          }
          if (id === 'broker-secret-flood') {
            const server = await startServer('servers/broker.ts', { upstreamIssuer: issuer.issuer, sink: 'jsonl', deployedDefaults: true } satisfies BrokerServerConfig, brokerNodeArgs);
            try {
              const r = await runSecretFloodScenario({
                serverUrl: server.url, serverPid: server.pid, legit: { headers: formHeaders, body: exchangeBody(sameToken), expect: 'access_token' },
                flood: { clientId: BENCH_CLIENT_ID, body: exchangeBody(sameToken) }, warmupSeconds, durationSeconds, runJsonChild, log,
              });
              attempts.push({ id, what: `${DESCRIPTIONS[id]}; quiet p99 ${fmt(r.quiet.p99Ms, 1)} ms, ×${fmt(r.p99Ratio, 2)} (target ≤ 2)`, perSec: r.flooded.reqPerSec, p50Ms: r.flooded.p50Ms, p99Ms: r.flooded.p99Ms, load: r.flooded });
            } finally {
              await server.stop();
            }
            continue;
          }
          const saturation = isHalfRate(id) ? attemptsOf('broker-same').at(-1) : undefined;
          if (isHalfRate(id) && (saturation === undefined || saturation.error !== undefined)) throw new Error('broker-same failed in this round: no saturation rate to halve');
          const rate = saturation ? { overallRate: Math.max(1, Math.round(saturation.perSec / 2)) } : {};
          let server: RunningServer;
          let load: Omit<LoadConfig, 'url' | 'connections' | 'warmupSeconds' | 'durationSeconds'>;
          if (id.startsWith('broker')) {
            const broker = brokerScenario(id, issuer, sameToken, poolFile);
            const feedKeys = id === 'broker-feed-subscribers' ? { validator: await createAdminKey(BENCH_VALIDATOR_ID) } : undefined;
            server = await startServer('servers/broker.ts', feedKeys ? { ...broker.config, validatorKeyHash: feedKeys.validator.hash, feed: { maxPerKey: 2000, maxSubscribers: 2000, revokeEveryMs: 1000 } } : broker.config, brokerNodeArgs);
            load = { ...rate, ...broker.load };
            if (feedKeys) {
              const started = server;
              const subscribers = await openSubscribers(server.url, { validatorKey: feedKeys.validator.key, total: 1000, stalled: 100 });
              server = { ...started, stop: async () => { await subscribers.close(); await started.stop(); } };
            }
          } else if (id === 'onward-cached' || id === 'onward-uncached') {
            // Issue 17 (servers/onward-broker.ts): the server writes its load request (a broker token, the tool's credentials).
            const requestFile = join(tmp, `${id}-request.json`);
            server = await startServer('servers/onward-broker.ts', { cached: id === 'onward-cached', requestFile } satisfies OnwardServerConfig, brokerNodeArgs);
            load = { ...(JSON.parse(await readFile(requestFile, 'utf8')) as OnwardLoadRequest), expect: 'access_token' };
          } else if (id === 'oidc-cc') {
            server = await startServer('servers/oidc-client-credentials.ts', {}, brokerNodeArgs);
            load = { headers: formHeaders, body: new URLSearchParams({ grant_type: 'client_credentials', resource: BENCH_RESOURCE, scope: BENCH_SCOPE }).toString(), expect: 'access_token' };
          } else {
            server = await startServer('servers/koa-bare.ts', {});
            load = { ...rate, headers: formHeaders, body: exchangeBody(sameToken), expect: 'access_token' };
          }
          try {
            const cpu0 = await cpuSeconds(server.pid);
            const wall0 = performance.now();
            const result = await runJsonChild<LoadResult>('load.ts', { ...loadBase, ...load, url: `${server.url}/token`, ...(server.pid !== undefined ? { serverPid: server.pid } : {}) } satisfies LoadConfig);
            const cpu1 = await cpuSeconds(server.pid);
            const serverCpuPct = cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) / ((performance.now() - wall0) / 1000)) * 100 : undefined;
            attempts.push({ id, what: DESCRIPTIONS[id], perSec: result.reqPerSec, p50Ms: result.p50Ms, p99Ms: result.p99Ms, load: result, ...(serverCpuPct !== undefined ? { serverCpuPct } : {}) });
          } finally {
            await server.stop();
          }
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          log(`  FAILED: ${message}`);
          attempts.push({ id, what: DESCRIPTIONS[id], perSec: Number.NaN, error: message });
        }
      }
    }
    for (const id of selected) rows.push(median(perRound.get(id) ?? []));
  } finally {
    await removeRedisKeys(redisPrefixes);
    await issuer.close();
    await rm(tmp, { recursive: true, force: true });
  }

  const summary = report(rows, started);
  const resultsDir = join(benchDir, 'results');
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `${started.toISOString().replace(/[:]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify({
    date: started.toISOString(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    loadAverage: { before: loadAverageBefore, after: loadavg() },
    options: { rounds, connections, warmupSeconds, durationSeconds, poolSize: needsFresh ? poolSize : 0, pinned, scenarios: selected, serverNodeArgs, compiledServers },
    rows,
    summary,
  }, null, 2)}\n`);
  console.log(`\nresults written to ${file}`);
  if (rows.some((r) => r.error !== undefined)) process.exitCode = 1;
}

/**
 * The order of the scenarios in round `round`: the table's order in odd rounds, reversed in even ones, so no
 * scenario always runs first or always right after another (on a shared VM the first run after a pause can be
 * faster). Half-rate scenarios still follow broker-same, whose throughput in the same round they halve.
 */
function roundOrder(round: number): ScenarioId[] {
  if (round % 2 === 1) return [...selected];
  const reversed = [...selected].reverse().filter((id) => !isHalfRate(id));
  const halfRate = selected.filter((id) => isHalfRate(id));
  const at = reversed.indexOf('broker-same');
  if (at < 0) return [...reversed, ...halfRate];
  return [...reversed.slice(0, at + 1), ...halfRate, ...reversed.slice(at + 1)];
}

/** The round with the median throughput (failed rounds only count when every round failed). */
function median(rows: readonly Row[]): Row {
  const ok = rows.filter((r) => r.error === undefined).sort((a, b) => a.perSec - b.perSec);
  const pick = ok[Math.floor((ok.length - 1) / 2)] ?? rows[0];
  if (pick === undefined) throw new Error('no rounds ran');
  return { ...pick, rounds: rows.map((r) => r.perSec), cpuRounds: rows.map((r) => cpuPerRequestUs(r) ?? Number.NaN) };
}

function runJsonChildOnServerCore(cfg: UnitConfig): Promise<UnitResult> {
  const child = spawnChild('unit.ts', cfg, 0);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  return exited(child).then((code) => {
    const last = out.trim().split('\n').at(-1);
    if (code !== 0 || last === undefined || last.length === 0) throw new Error(`unit.ts failed (exit ${code ?? 'signal'}): ${err.trim().slice(0, 2000)}`);
    return JSON.parse(last) as UnitResult;
  });
}

// ---------- the table ----------
function fmt(n: number | undefined, digits = 0): string {
  return n === undefined || Number.isNaN(n) ? '-' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function spread(values: readonly number[] | undefined): string {
  const ok = (values ?? []).filter((v) => !Number.isNaN(v));
  return ok.length === 0 ? '-' : `${fmt(Math.min(...ok))}–${fmt(Math.max(...ok))}`;
}

function report(rows: readonly Row[], started: Date): Record<string, number | string | boolean> {
  const by = (id: ScenarioId): Row | undefined => rows.find((r) => r.id === id && r.error === undefined);
  const same = by('broker-same');
  const header = ['scenario', 'what', 'req/s', 'p50 ms', 'p99 ms', '× broker-same', 'server CPU', 'CPU µs/req', 'non-2xx/err', ...(rounds > 1 ? ['rounds min–max'] : [])];
  const lines = rows.map((r) => [
    r.id,
    r.what,
    r.error !== undefined ? 'FAILED' : fmt(r.perSec) + (r.unit ? ' ops/s' : r.validator ? ' tok/s' : ''),
    fmt(r.p50Ms, 1),
    fmt(r.p99Ms, 1),
    same && r.error === undefined ? `${fmt(r.perSec / same.perSec, 2)}×` : '-',
    r.serverCpuPct !== undefined ? `${fmt(r.serverCpuPct)} %` : '-',
    r.unit || r.validator ? '-' : fmt(cpuPerRequestUs(r) ?? Number.NaN),
    r.load ? `${r.load.non2xx}/${r.load.errors + r.load.timeouts}${r.load.poolWrapped ? ' (pool wrapped)' : ''}` : '-',
    ...(rounds > 1 ? [spread(r.rounds)] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const row = (cells: readonly string[]): string => `| ${cells.map((c, i) => (i >= 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  console.log('');
  console.log(`Benchmark ${started.toISOString()} | ${cpus()[0]?.model ?? 'cpu?'} ×${cpus().length} | node ${process.version}`);
  console.log(`${connections} connections, ${warmupSeconds} s warm-up + ${durationSeconds} s measured per scenario${rounds > 1 ? `, ${rounds} interleaved rounds (median shown)` : ''} | servers: ${compiledServers ? 'compiled (tsc)' : 'through tsx'}, ${serverNodeArgs.length > 0 ? serverNodeArgs.join(' ') : 'node defaults'} | load average now ${loadavg().map((l) => l.toFixed(2)).join(' ')} | ${pinned ? 'pinned: server CPU 0, load generator + orchestrator CPU 1 (taskset)' : 'NOT pinned (taskset unavailable, fewer than 2 CPUs, or --no-pin)'}`);
  console.log('');
  console.log(row(header));
  console.log(`|${widths.map((w, i) => (i >= 2 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const l of lines) console.log(row(l));

  const summary: Record<string, number | string | boolean> = { pinned };
  // With several rounds, a ratio is the median of the per-round ratios (both scenarios measured minutes apart
  // at most), which cancels slow drifts in the machine's load better than a ratio of medians.
  const pairedRatios = (x: Row, y: Row): number[] => {
    const xs = x.rounds ?? [x.perSec];
    const ys = y.rounds ?? [y.perSec];
    return xs.map((v, i) => v / (ys[i] ?? Number.NaN)).filter((v) => Number.isFinite(v)).sort((m, n) => m - n);
  };
  const ratioOf = (a: ScenarioId, b: ScenarioId): { r: number; range: string } | undefined => {
    const x = by(a);
    const y = by(b);
    if (!x || !y) return undefined;
    const rs = pairedRatios(x, y);
    const mid = rs.length === 0 ? x.perSec / y.perSec : medianOf(rs);
    return { r: mid, range: rs.length > 1 ? ` (per round ${rs.map((v) => fmt(v, 2)).join(', ')})` : '' };
  };
  const ratio = (a: ScenarioId, b: ScenarioId, label: string, key: string): void => {
    const q = ratioOf(a, b);
    if (!q) return;
    summary[key] = q.r;
    console.log(`${label}: ${fmt(q.r, 2)}×${q.range}`);
  };
  const cost = (a: ScenarioId, b: ScenarioId, label: string, key: string, target = ' (target ≤ 10 %)'): void => {
    const q = ratioOf(a, b);
    if (!q) return;
    const c = (1 - q.r) * 100;
    summary[key] = c;
    console.log(`${label}: ${fmt(c, 1)} % of throughput${target}${q.range.replace('per round', `${a}/${b} throughput per round`)}`);
    // The same cost seen as server CPU per request (measured run only, every thread of the server process):
    // steadier than throughput on a shared machine, since time the server was not running does not count.
    const x = by(a)?.cpuRounds ?? [];
    const y = by(b)?.cpuRounds ?? [];
    const extra = x.map((v, i) => v / (y[i] ?? Number.NaN) - 1).filter((v) => Number.isFinite(v)).sort((m, n) => m - n);
    if (extra.length === 0) return;
    const mid = medianOf(extra);
    summary[`${key}CpuPerRequest`] = mid * 100;
    console.log(`${label}, as server CPU per request: +${fmt(mid * 100, 1)} %${extra.length > 1 ? ` (per round ${extra.map((v) => `${fmt(v * 100, 1)} %`).join(', ')})` : ''}`);
  };
  console.log('');
  ratio('broker-same', 'oidc-cc', 'broker (same token) vs oidc-provider client_credentials', 'brokerSameVsClientCredentials');
  ratio('broker-fresh', 'oidc-cc', 'broker (fresh tokens) vs oidc-provider client_credentials', 'brokerFreshVsClientCredentials');
  ratio('broker-fresh', 'broker-same', 'fresh-token vs same-token throughput', 'freshVsSame');
  ratio('broker-same', 'koa', 'broker (same token) vs bare koa route', 'brokerSameVsKoa');
  ratio('broker-same', 'unit', 'broker (same token) vs in-process verify+sign unit', 'brokerSameVsUnit');
  ratio('broker-redis', 'broker-same', 'Redis shared state vs in-memory state (same token)', 'redisVsMemory');
  ratio('broker-durable-redis', 'oidc-cc', 'broker as deployed with replicas (durable sink + Redis) vs oidc-provider client_credentials', 'brokerDeployedVsClientCredentials');
  ratio('onward-cached', 'broker-same', 'onward exchange, cached credential vs same-token exchange', 'onwardCachedVsSame');
  ratio('onward-uncached', 'broker-same', 'onward exchange, uncached (SaaS call) vs same-token exchange', 'onwardUncachedVsSame');
  cost('broker-durable', 'broker-same', 'durable attribution cost, same token', 'attributionCostSamePct');
  cost('broker-durable-fresh', 'broker-fresh', 'durable attribution cost, fresh tokens', 'attributionCostFreshPct');
  cost('broker-chained', 'broker-same', 'chaining without I/O, same token (part of the durable cost)', 'chainingCostSamePct', '');
  cost('broker-delayed', 'broker-same', 'chaining + a 1 ms wait without I/O, same token', 'delayedCostSamePct', '');
  if (same) {
    const cc = by('oidc-cc');
    const met = same.perSec >= 2000 && cc !== undefined && same.perSec >= cc.perSec;
    summary.throughputTargetMet = met;
    console.log(`target "exchange ≥ 2,000/s on one core and ≥ 1.0× client_credentials": ${cc === undefined ? `not judged: oidc-cc was not measured in this run (${fmt(same.perSec)}/s)` : `${met ? 'MET' : 'NOT MET'} (${fmt(same.perSec)}/s, cc ${fmt(cc.perSec)}/s)`}`);
  }
  const validator = by('validator');
  if (validator?.validator) {
    const v = validator.validator;
    summary.validatorPerSec = v.validatorPerSec;
    summary.validatorVsJose = v.validatorPerSec / v.josePerSec;
    console.log(`validator SDK (with revocation checks) vs bare jose.jwtVerify, same process, same ${fmt(v.tokens)} tokens: ${fmt(v.validatorPerSec)} vs ${fmt(v.josePerSec)} tokens/s = ${fmt(v.validatorPerSec / v.josePerSec, 2)}×`);
    console.log(`target "validator ≥ 4,000 tokens/s on one core with revocation checks": ${v.validatorPerSec >= 4000 ? 'MET' : 'NOT MET'} (${fmt(v.validatorPerSec)}/s)`);
  }
  const fanOut = by('broker-feed-subscribers');
  const plain = by('broker-same');
  if (fanOut?.p99Ms !== undefined && plain?.p99Ms !== undefined) {
    const r = fanOut.p99Ms / plain.p99Ms;
    summary.feedSubscribersP99VsNone = r;
    console.log(`target "exchange p99 with 1,000 feed subscribers (100 not reading) within 2x of none": ${r <= 2 ? 'MET' : 'NOT MET'} (p99 ${fmt(fanOut.p99Ms, 1)} vs ${fmt(plain.p99Ms, 1)} ms = ${fmt(r, 2)}×)`);
  }
  const manyRules = by('validator-1m-rules');
  if (manyRules?.validator && validator?.validator) {
    const r = manyRules.validator.validatorPerSec / validator.validator.validatorPerSec;
    summary.validator1mRulesVsNone = r;
    console.log(`target "validator throughput with 1M revocation rules within 10 % of 0 rules": ${r >= 0.9 ? 'MET' : 'NOT MET'} (${fmt(manyRules.validator.validatorPerSec)} vs ${fmt(validator.validator.validatorPerSec)} tokens/s = ${fmt(r, 2)}×)`);
  }
  const half = by('broker-half-rate');
  if (half?.p99Ms !== undefined) {
    summary.halfRateP99Met = half.p99Ms <= 10;
    const floor = by('koa-half-rate');
    console.log(`target "p99 ≤ 10 ms at 50 % of saturation": ${half.p99Ms <= 10 ? 'MET' : 'NOT MET'} (p99 ${fmt(half.p99Ms, 1)} ms at ${fmt(half.perSec)} req/s${floor ? `; bare koa at the same rate: p99 ${fmt(floor.p99Ms, 1)} ms` : ''})`);
  }
  if (same?.p99Ms !== undefined) {
    summary.saturationP99Met = same.p99Ms <= 50;
    console.log(`target "p99 ≤ 50 ms at saturation": ${same.p99Ms <= 50 ? 'MET' : 'NOT MET'} (p99 ${fmt(same.p99Ms, 1)} ms, ${connections} connections)`);
  }
  return summary;
}

if (opts.soak !== undefined) await soak(positive('soak', opts.soak, 600));
else if (opts.alternate !== undefined) await alternate(Math.round(positive('alternate', opts.alternate, 30)));
else await main();
