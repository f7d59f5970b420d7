/**
 * The load generator, run in its own (pinned) process: one sanity request, a warm-up, then one bounded
 * autocannon run. With `tokenPoolFile`, every request carries the next token of the pool (`{{TOKEN}}` in the
 * body template). Prints its LoadResult as one JSON line on stdout.
 */
import { probe, requestSource, runAutocannon } from './autocannon-run.js';
import { paced } from './paced.js';
import { cpuSeconds } from './proc-cpu.js';
import { readConfig, type LoadConfig, type LoadResult } from './protocol.js';

const cfg = readConfig() as LoadConfig;
const source = await requestSource(cfg.body, cfg.tokenPoolFile);
const nextBody = source.nextBody;

// One request first: a benchmark of error responses would be meaningless.
try {
  await probe(cfg.url, cfg.headers, source, cfg.expect);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}

function cpuUsed(before: number | undefined, after: number | undefined): number | undefined {
  return before === undefined || after === undefined ? undefined : after - before;
}

const run = (seconds: number) => runAutocannon(cfg.url, cfg.headers, source, cfg.connections, seconds);

if (cfg.overallRate !== undefined) {
  const opts = { url: cfg.url, headers: cfg.headers, body: nextBody, rate: cfg.overallRate, connections: cfg.connections };
  await paced({ ...opts, seconds: cfg.warmupSeconds });
  const cpuBefore = await cpuSeconds(cfg.serverPid);
  const p = await paced({ ...opts, seconds: cfg.durationSeconds });
  const serverCpuSeconds = cpuUsed(cpuBefore, await cpuSeconds(cfg.serverPid));
  const result: LoadResult = {
    reqPerSec: p.ok / cfg.durationSeconds, p50Ms: p.p50Ms, p99Ms: p.p99Ms, total: p.sent, non2xx: p.non2xx, errors: p.errors, timeouts: 0,
    durationSeconds: p.elapsedSeconds,
    ...(serverCpuSeconds !== undefined ? { serverCpuSeconds } : {}),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

await run(cfg.warmupSeconds);
const cpuBefore = await cpuSeconds(cfg.serverPid);
const r = await run(cfg.durationSeconds);
const serverCpuSeconds = cpuUsed(cpuBefore, await cpuSeconds(cfg.serverPid));
const result: LoadResult = {
  reqPerSec: r.requests.total / r.duration,
  p50Ms: r.latency.p50,
  p99Ms: r.latency.p99,
  total: r.requests.total,
  non2xx: r.non2xx,
  errors: r.errors,
  timeouts: r.timeouts,
  durationSeconds: r.duration,
  ...source.used(),
  ...(serverCpuSeconds !== undefined ? { serverCpuSeconds } : {}),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
