/**
 * The load generator of `npm run bench -- --alternate N`: the servers under test run side by side (all on the
 * servers' core; only the one under load does work), and the load moves between them in short slices, every
 * target once per cycle, in table order in even cycles and reversed in odd ones (A B, B A, A B, ...). Adjacent
 * slices see the same machine, so the host's drifts, which make scenarios measured seconds apart differ by
 * ±30 % here, mostly cancel in the per-cycle ratios. Prints its AlternateLoadResult as one JSON line.
 */
import { probe, requestSource, runAutocannon } from './autocannon-run.js';
import { cpuSeconds } from './proc-cpu.js';
import { readConfig, type AlternateLoadConfig, type AlternateLoadResult, type AlternateSlice } from './protocol.js';

const cfg = readConfig() as AlternateLoadConfig;
const source = await requestSource(cfg.body, cfg.tokenPoolFile);
const run = (url: string, seconds: number) => runAutocannon(url, cfg.headers, source, cfg.connections, seconds);

try {
  for (const t of cfg.targets) await probe(t.url, cfg.headers, source, cfg.expect);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
for (const t of cfg.targets) await run(t.url, cfg.warmupSeconds);

const slices: AlternateSlice[] = [];
const t0 = performance.now();
for (let cycle = 0; cycle < cfg.cycles; cycle += 1) {
  const order = cfg.targets.map((_, i) => i);
  if (cycle % 2 === 1) order.reverse();
  for (const target of order) {
    const t = cfg.targets[target];
    if (t === undefined) continue;
    const startedMs = performance.now() - t0;
    if (cfg.sliceWarmupSeconds > 0) await run(t.url, cfg.sliceWarmupSeconds);
    const cpuBefore = await Promise.all(cfg.targets.map((x) => cpuSeconds(x.serverPid)));
    const r = await run(t.url, cfg.sliceSeconds);
    const cpuAfter = await Promise.all(cfg.targets.map((x) => cpuSeconds(x.serverPid)));
    const used = cpuAfter.map((after, i) => {
      const before = cpuBefore[i];
      return after === undefined || before === undefined ? undefined : after - before;
    });
    const own = used[target];
    const others = used.filter((_, i) => i !== target);
    const idle = others.reduce<number | undefined>((sum, x) => (sum === undefined || x === undefined ? undefined : sum + x), 0);
    slices.push({
      cycle,
      target,
      startedMs,
      reqPerSec: r.requests.total / r.duration,
      total: r.requests.total,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
      p99Ms: r.latency.p99,
      ...(own !== undefined ? { serverCpuSeconds: own } : {}),
      ...(idle !== undefined ? { idleServersCpuSeconds: idle } : {}),
    });
  }
}
const result: AlternateLoadResult = { slices };
process.stdout.write(`${JSON.stringify(result)}\n`);
