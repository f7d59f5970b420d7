/** CPU time of a process, from /proc (Linux only): what the bench uses to report server CPU per request. */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds (user + system, every thread) `pid` has used so far; undefined where /proc cannot tell. */
export async function cpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${String(pid)}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / clockTicks : undefined;
  } catch {
    return undefined;
  }
}
