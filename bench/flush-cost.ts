/**
 * What one synced write of the attribution log costs the CPU core that issues it, on this machine.
 *
 *   npx tsx bench/flush-cost.ts [--period MS (default 10)] [--cycles N (default 20)] [--bytes N (default 20000)]
 *
 * A compute-bound loop runs on CPU 0 (the bench's server core) and counts work done; every `period` ms a
 * write of `bytes` (a batch of the JSONL sink's size) is issued, alternating 1-s slices with and without
 * writes. The lost work per write, in µs of CPU 0, is reported for:
 *  - `O_DSYNC, same core`: as the JSONL sink writes, from the libuv thread pool of a process pinned to CPU 0
 *    (the bench's broker servers are pinned like this, every thread);
 *  - `fdatasync, same core`: a plain write then fdatasync (where the platform has no O_DSYNC);
 *  - `plain write, same core`: the same write without any sync (what the flush adds is the difference);
 *  - `O_DSYNC, other core`: the same synced writes issued by another process pinned to CPU 1.
 * Needs Linux and taskset with 2 CPUs; the file lives in the OS temporary directory (the broker bench's too).
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, fdatasync, mkdtempSync, openSync, rmSync, write } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { medianOf } from './stats.js';

type Mode = 'dsync' | 'fdatasync' | 'plain';
const { values } = parseArgs({ options: { period: { type: 'string', default: '10' }, cycles: { type: 'string', default: '20' }, bytes: { type: 'string', default: '20000' }, writer: { type: 'string' } } });
const period = Number(values.period);
const cycles = Number(values.cycles);
const bytes = Number(values.bytes);
const O_DSYNC = (constants as { O_DSYNC?: number }).O_DSYNC;

/** Issues one write every `period` ms while `on`; counts completed writes. */
class Writer {
  on = false;
  writes = 0;
  readonly #dir = mkdtempSync(join(tmpdir(), 'flush-cost-'));
  readonly #fd: number;
  readonly #buf = Buffer.alloc(bytes, 0x61);
  readonly #timer: NodeJS.Timeout;
  constructor(readonly mode: Mode) {
    this.#fd = openSync(join(this.#dir, 'log'), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (mode === 'dsync' ? O_DSYNC ?? 0 : 0), 0o600);
    this.#timer = setInterval(() => {
      if (!this.on) return;
      write(this.#fd, this.#buf, 0, this.#buf.length, null, (error) => {
        if (error) throw error;
        if (mode === 'fdatasync') fdatasync(this.#fd, () => { this.writes += 1; });
        else this.writes += 1;
      });
    }, period);
  }
  close(): void {
    clearInterval(this.#timer);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

if (values.writer !== undefined) {
  // The other-core writer: switched on and off by the parent, reports its writes when switched off.
  const writer = new Writer('dsync');
  process.on('message', (m) => {
    if (m === 'on') { writer.writes = 0; writer.on = true; } else if (m === 'off') { writer.on = false; process.send?.(writer.writes); } else { writer.close(); process.exit(0); }
  });
  process.send?.('ready');
} else {
  await main();
}

async function main(): Promise<void> {
  if (O_DSYNC === undefined || spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status !== 0 || availableParallelism() < 2) {
    console.log('flush-cost needs Linux (O_DSYNC), taskset and 2 CPUs');
    process.exitCode = 1;
    return;
  }
  spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  const data = Buffer.alloc(2048, 1);
  let ops = 0;
  const slice = async (before: () => void, after: () => Promise<number>): Promise<{ perSecond: number; writes: number }> => {
    ops = 0;
    before();
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const loop = (): void => {
        const end = performance.now() + 1;
        while (performance.now() < end) { createHash('sha256').update(data).digest(); ops += 1; }
        if (performance.now() - t0 < 1000) setImmediate(loop);
        else resolve();
      };
      loop();
    });
    const seconds = (performance.now() - t0) / 1000;
    const writes = await after();
    return { perSecond: ops / seconds, writes: writes / seconds };
  };
  const measure = async (label: string, on: () => void, off: () => Promise<number>): Promise<void> => {
    const lost: number[] = [];
    let writesPerSecond = 0;
    for (let c = 0; c < cycles; c += 1) {
      const quiet = await slice(() => undefined, () => Promise.resolve(0));
      const busy = await slice(on, off);
      writesPerSecond += busy.writes / cycles;
      lost.push(busy.writes > 0 ? ((1 - busy.perSecond / quiet.perSecond) * 1e6) / busy.writes : Number.NaN);
    }
    const sorted = lost.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
    console.log(`| ${label} | ${writesPerSecond.toFixed(0)} | ${medianOf(sorted).toFixed(0)} |`);
  };
  console.log(`flush cost: ${bytes}-byte writes every ${period} ms, ${cycles} cycles of 1 s with / 1 s without, compute loop on CPU 0 (median)`);
  console.log('');
  console.log('| writes | per second | CPU 0 work lost per write, µs |');
  console.log('|---|---:|---:|');
  for (const [label, mode] of [['O_DSYNC, same core', 'dsync'], ['fdatasync, same core', 'fdatasync'], ['plain write, same core', 'plain']] as const) {
    const writer = new Writer(mode);
    await measure(label, () => { writer.writes = 0; writer.on = true; }, () => { writer.on = false; return Promise.resolve(writer.writes); });
    writer.close();
  }
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--writer', 'dsync', '--period', String(period), '--bytes', String(bytes)], {
    execPath: 'taskset', execArgv: ['-c', '1', process.execPath, '--import', 'tsx'],
  });
  await new Promise((resolve) => child.once('message', resolve)); // 'ready'
  await measure('O_DSYNC, other core (CPU 1)', () => child.send('on'), () => new Promise<number>((resolve) => { child.once('message', (m) => { resolve(Number(m)); }); child.send('off'); }));
  child.send('exit');
}
