/**
 * `broker check`: validates the configuration, the scope catalog and every agent registration without
 * starting anything (signing keys included), and prints either a one-line summary or every problem found.
 */
import { ConfigError, formatProblem, isConfigError } from '../config/config-error.js';
import { loadEverything } from '../config/load-all.js';
import { upstreamCredentialProblems } from './upstream-check.js';

export interface CheckOptions {
  /** The configuration file (default: env BROKER_CONFIG, else the embedded development default). */
  readonly config?: string;
  /** Check this catalog directory instead of the configured one. */
  readonly catalog?: string;
  /** Check this clients directory instead of the configured one. */
  readonly clients?: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (line: string) => void;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** 0 when everything is valid, 1 when there is any problem (each printed on its own line). */
export async function runCheck(options: CheckOptions): Promise<number> {
  try {
    const { config, catalog, agents } = await loadEverything({
      ...(options.config === undefined ? {} : { file: options.config }),
      ...(options.catalog === undefined ? {} : { catalogDir: options.catalog }),
      ...(options.clients === undefined ? {} : { clientsDir: options.clients }),
      cwd: options.cwd,
      env: options.env,
      // Signing keys too: a missing, malformed or development key is reported here, not at start.
      keys: true,
    });
    // Issue 17: the upstream client credentials and the vault key the catalog names (upstream-check.ts).
    const upstream = await upstreamCredentialProblems({ config, catalog, env: options.env, cwd: options.cwd });
    if (upstream.length > 0) throw new ConfigError(upstream);
    const toolIds = [...catalog.tools.keys()].sort();
    const agentIds = [...agents.agents.keys()].sort();
    options.out(
      `ok: ${plural(toolIds.length, 'tool')} (${toolIds.join(', ')}), ${plural(agentIds.length, 'agent')} (${agentIds.join(', ')})`,
    );
    return 0;
  } catch (error) {
    if (!isConfigError(error)) throw error;
    for (const problem of error.problems) options.out(formatProblem(problem));
    options.out(`check failed: ${plural(error.problems.length, 'problem')}`);
    return 1;
  }
}
