/**
 * The load generator, run in its own (pinned) process: one sanity request, a warm-up, then one bounded
 * autocannon run. With `tokenPoolFile`, every request carries the next token of the pool (`{{TOKEN}}` in the
 * body template). Prints its LoadResult as one JSON line on stdout.
 */
import { readFile } from 'node:fs/promises';
import autocannon from 'autocannon';
import { paced } from './paced.js';
import { cpuSeconds } from './proc-cpu.js';
import { readConfig, type LoadConfig, type LoadResult } from './protocol.js';

const cfg = readConfig() as LoadConfig;
const pool = cfg.tokenPoolFile ? (await readFile(cfg.tokenPoolFile, 'utf8')).split('\n').filter((l) => l.length > 0) : [];
let next = 0;
const nextBody = (): string => {
  if (pool.length === 0) return cfg.body;
  const token = pool[next % pool.length] ?? '';
  next += 1;
  return cfg.body.replace('{{TOKEN}}', token);
};

// One request first: a benchmark of error responses would be meaningless.
const probe = await fetch(cfg.url, { method: 'POST', headers: cfg.headers, body: nextBody() });
const probeText = await probe.text();
if (probe.status !== 200 || !probeText.includes(cfg.expect)) {
  process.stderr.write(`sanity request failed: ${probe.status} ${probeText.slice(0, 500)}\n`);
  process.exit(2);
}

function cpuUsed(before: number | undefined, after: number | undefined): number | undefined {
  return before === undefined || after === undefined ? undefined : after - before;
}

function run(seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: cfg.url,
    connections: cfg.connections,
    duration: seconds,
    requests: [{
      method: 'POST',
      headers: cfg.headers,
      body: cfg.body,
      ...(pool.length > 0 ? { setupRequest: (req: autocannon.Request) => ({ ...req, body: nextBody() }) } : {}),
    }],
  });
}

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
  ...(pool.length > 0 ? { tokensUsed: Math.min(next, pool.length), poolWrapped: next > pool.length } : {}),
  ...(serverCpuSeconds !== undefined ? { serverCpuSeconds } : {}),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
