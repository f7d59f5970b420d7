/**
 * `broker check --impact <old-dir> <new-dir> --log <attribution log>`: replays recent recorded exchanges
 * against two configuration directories (each holding `scopes/` and `clients/`) and prints who would gain
 * or lose which scopes (src/guardrails/explain/impact.ts). Exit codes: 0 no change, 1 changes listed
 * (review them), 2 a directory or the log could not be read.
 */
import { join } from 'node:path';
import { formatProblem, isConfigError } from '../config/config-error.js';
import { loadAgents } from '../config/load-agents.js';
import { loadCatalog } from '../config/load-catalog.js';
import { resolveLogPaths } from '../attribution/log-files.js';
import { queryLog } from '../attribution/query.js';
import type { ExchangeRecord } from '../attribution/record.js';
import { impactOf, type ImpactConfig } from '../guardrails/explain/impact.js';

export interface ImpactOptions {
  readonly oldDir: string;
  readonly newDir: string;
  readonly log: readonly string[];
  /** Only records at or after this time (ISO 8601). */
  readonly from?: string;
  readonly cwd: string;
  readonly out: (line: string) => void;
}

async function loadDir(dir: string, cwd: string): Promise<ImpactConfig> {
  const catalog = await loadCatalog(join(dir, 'scopes'), { cwd });
  // Development mode: a sample agent is part of what a change affects, too.
  const agents = await loadAgents(join(dir, 'clients'), catalog, 'development', { cwd });
  return { catalog, agents };
}

async function* exchanges(log: readonly string[], from: string | undefined): AsyncGenerator<ExchangeRecord> {
  const files = await resolveLogPaths(log);
  for await (const r of queryLog(files, { type: 'token_exchange', ...(from ? { from } : {}) })) if (r.type === 'token_exchange') yield r;
}

export async function runImpact(options: ImpactOptions): Promise<number> {
  let before: ImpactConfig;
  let after: ImpactConfig;
  try {
    [before, after] = [await loadDir(options.oldDir, options.cwd), await loadDir(options.newDir, options.cwd)];
  } catch (err) {
    if (!isConfigError(err)) throw err;
    for (const p of err.problems) options.out(formatProblem(p));
    return 2;
  }
  let lines;
  try {
    lines = await impactOf(exchanges(options.log, options.from), before, after);
  } catch (err) {
    options.out(`cannot read the attribution log: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  if (lines.length === 0) {
    options.out('no change: every recorded request would be granted the same scopes');
    return 0;
  }
  for (const l of lines) {
    const who = `${l.agent} for ${l.user || '(unknown user)'} at ${l.tool} (${String(l.requests)} recorded request${l.requests === 1 ? '' : 's'})`;
    if (l.gained.length > 0) options.out(`+ ${who}: gains ${l.gained.join(' ')}`);
    if (l.lost.length > 0) options.out(`- ${who}: loses ${l.lost.join(' ')}`);
    if (l.user_check_changed) options.out(`? ${who}: justified_by changed for ${l.user_check_changed.join(' ')} (the user's side is re-checked at the next exchange)`);
  }
  return 1;
}
