/**
 * Checks of the material a broker starts on, beyond the files' own validation: in production no agent may
 * authenticate with the public demo secret, and (for the broker's start and `broker check`) the signing
 * keys in `keys_dir` must be usable, and in production must not be development keys.
 */
import path from 'node:path';
import type { AgentRegistry } from '../domain/agent.js';
import type { BrokerConfig } from '../domain/broker-config.js';
import { keySchedule } from '../keys/key-schedule.js';
import { readKeyDirectory } from '../keys/signing-keys.js';
import type { ConfigProblem } from './config-error.js';
import { demoSecretProblems } from './demo-secret.js';

export async function materialProblems(config: BrokerConfig | undefined, agents: AgentRegistry, options: { keys: boolean; cwd: string }): Promise<ConfigProblem[]> {
  if (config === undefined) return [];
  const production = config.mode === 'production';
  const problems: ConfigProblem[] = production ? await demoSecretProblems(agents) : [];
  if (!options.keys) return problems;
  const display = (p: string): string => path.relative(options.cwd, p) || p;
  const dir = await readKeyDirectory(config.keysDir, { production, display });
  problems.push(...dir.problems);
  // Development generates its first key at start; production never does.
  if (dir.problems.length > 0 || (!production && dir.records.length === 0)) return problems;
  if (keySchedule(dir.records, Date.now(), { maxTokenLifetimeMs: 0, clockSkewMs: 0 }).signing === undefined) {
    problems.push({
      file: display(config.keysDir),
      path: '',
      message: dir.records.length === 0
        ? 'no signing key: create one with `broker keys generate` (production never generates keys)'
        : 'no key may sign now: one key must be active (or next with activate_at passed)',
    });
  }
  return problems;
}
