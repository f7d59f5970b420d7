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
import { materialProblems } from './production-material.js';

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
  const embedded = options.file === undefined && (options.env.BROKER_CONFIG ?? '') === '';
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
  // Development material in production (the demo secret), and the signing keys when asked for.
  problems.addAll(await materialProblems(collected.config, agents, { keys: options.keys === true, cwd }));

  const { config } = collected;
  // A validator key's resources must name catalog tools (issue 14 item 7), like an agent's tools.
  if (config && view.complete) {
    config.validatorKeys.forEach((entry, index) => {
      entry.resources?.forEach((resource, r) => {
        if (!catalog.byResource.has(resource)) problems.add(options.file ?? 'configuration', `validator_keys[${index}].resources[${r}]`, `names no tool in the catalog: ${resource}`);
      });
    });
  }
  if (problems.size > 0 || !config || catalogDir === undefined || clientsDir === undefined) {
    throw new ConfigError(
      problems.size > 0 ? problems.list : [{ file: options.file ?? 'configuration', path: '', message: 'is not valid' }],
    );
  }
  return { config: { ...config, catalogDir, clientsDir }, catalog, agents };
}
