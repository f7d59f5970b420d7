/**
 * Everything the broker needs before it starts: its configuration, the scope catalog and the agent
 * registry, validated together so that one run reports every problem in every file.
 */
import path from 'node:path';
import type { AgentRegistry } from '../domain/agent.js';
import type { BrokerConfig } from '../domain/broker-config.js';
import type { Catalog } from '../domain/catalog.js';
import { ConfigError } from './config-error.js';
import { collectAgents } from './load-agents.js';
import { collectBrokerConfigFromDisk } from './load-broker-config.js';
import { collectCatalog, type CatalogView } from './load-catalog.js';
import { Problems } from './validate.js';
import { readYamlDir } from './yaml-files.js';
import { readKeyDirectory } from '../keys/signing-keys.js';
import { keySchedule } from '../keys/key-schedule.js';
import { demoSecretProblems } from './demo-secret.js';

export interface LoadEverythingOptions {
  /** The configuration file; default: env BROKER_CONFIG; neither = the embedded development default. */
  readonly file?: string;
  /** Use this catalog directory instead of the configured one (relative to `cwd`). */
  readonly catalogDir?: string;
  /** Use this clients directory instead of the configured one (relative to `cwd`). */
  readonly clientsDir?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Also check the signing keys in `keys_dir` (the broker's start and `broker check`). */
  readonly keys?: boolean;
}

export interface Everything {
  readonly config: BrokerConfig;
  readonly catalog: Catalog;
  readonly agents: AgentRegistry;
}

/** Loads config, then catalog, then agents; throws one ConfigError with every problem found in any of them. */
export async function loadEverything(options: LoadEverythingOptions): Promise<Everything> {
  const { cwd } = options;
  const problems = new Problems();
  // The embedded development default keeps its state in memory: it never attaches to a Redis named by
  // REDIS_URL (which may well be production's, exported in the same shell).
  const embedded = (options.file ?? options.env.BROKER_CONFIG) === undefined;
  const env = embedded ? { ...options.env, REDIS_URL: undefined } : options.env;

  const collected = await collectBrokerConfigFromDisk({ file: options.file, env, cwd }, problems);
  const catalogDir = options.catalogDir === undefined ? collected.catalogDir : path.resolve(cwd, options.catalogDir);
  const clientsDir = options.clientsDir === undefined ? collected.clientsDir : path.resolve(cwd, options.clientsDir);

  // Without a usable catalog, agents are still checked, but references to tools cannot be judged.
  let catalog: Catalog = { tools: new Map(), byResource: new Map() };
  let view: CatalogView = { tools: new Map(), complete: false };
  if (catalogDir !== undefined) {
    const before = problems.size;
    const files = await readYamlDir(catalogDir, cwd, 'tool', problems);
    const unreadable = problems.size > before;
    const result = collectCatalog(files, problems);
    catalog = result.catalog;
    view = { tools: result.view.tools, complete: result.view.complete && !unreadable };
  }

  let agents: AgentRegistry = { agents: new Map() };
  if (clientsDir !== undefined) {
    const files = await readYamlDir(clientsDir, cwd, 'agent', problems);
    agents = collectAgents(files, view, collected.mode, problems);
  }

  const { config } = collected;
  // Production refuses an agent whose secret is the public demo secret, whatever its file says.
  if (config?.mode === 'production') problems.addAll(await demoSecretProblems(agents));
  if (options.keys === true && config) {
    const production = config.mode === 'production';
    const dir = await readKeyDirectory(config.keysDir, { production, display: (p) => path.relative(cwd, p) || p });
    problems.addAll(dir.problems);
    if (dir.problems.length === 0 && (production || dir.records.length > 0) && keySchedule(dir.records, Date.now(), { maxTokenLifetimeMs: 0, clockSkewMs: 0 }).signing === undefined) {
      problems.add(path.relative(cwd, config.keysDir) || config.keysDir, '', dir.records.length === 0
        ? 'no signing key: create one with `broker keys generate` (production never generates keys)'
        : 'no key may sign now: one key must be active (or next with activate_at passed)');
    }
  }
  if (problems.size > 0 || !config || catalogDir === undefined || clientsDir === undefined) {
    throw new ConfigError(
      problems.size > 0 ? problems.list : [{ file: options.file ?? 'configuration', path: '', message: 'is not valid' }],
    );
  }
  return { config: { ...config, catalogDir, clientsDir }, catalog, agents };
}
