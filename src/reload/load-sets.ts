/**
 * Reads `scopes/` and `clients/` again, with the loaders the broker starts with (config/load-catalog.ts,
 * config/load-agents.ts, config/production-material.ts), and validates the new set in full: every problem
 * in every file is collected, and any problem rejects the whole set.
 */
import type { AgentRegistry } from '../domain/agent.js';
import type { BrokerConfig } from '../domain/broker-config.js';
import type { Catalog } from '../domain/catalog.js';
import { ConfigError } from '../config/config-error.js';
import { collectAgents } from '../config/load-agents.js';
import { collectCatalog } from '../config/load-catalog.js';
import { materialProblems } from '../config/production-material.js';
import { Problems } from '../config/validate.js';
import { readYamlDir } from '../config/yaml-files.js';

export interface ConfigSet {
  readonly catalog: Catalog;
  readonly agents: AgentRegistry;
}

/** The catalog and agents in `config.catalogDir` / `config.clientsDir`, or a ConfigError naming every problem. */
export async function loadConfigSet(config: BrokerConfig, cwd: string): Promise<ConfigSet> {
  const problems = new Problems();
  const before = problems.size;
  const toolFiles = await readYamlDir(config.catalogDir, cwd, 'tool', problems);
  const unreadable = problems.size > before;
  const { catalog, view } = collectCatalog(toolFiles, problems);
  const agentFiles = await readYamlDir(config.clientsDir, cwd, 'agent', problems);
  const agents = collectAgents(agentFiles, { tools: view.tools, complete: view.complete && !unreadable }, config.mode, problems);
  problems.addAll(await materialProblems(config, agents, { keys: false, cwd }));
  // As at start (config/load-all.ts): a validator key's resources must name catalog tools.
  config.validatorKeys.forEach((entry, index) => {
    entry.resources?.forEach((resource, r) => {
      if (!catalog.byResource.has(resource)) problems.add('configuration', `validator_keys[${index}].resources[${r}]`, `names no tool in the catalog: ${resource}`);
    });
  });
  if (problems.size > 0) throw new ConfigError(problems.list);
  return { catalog, agents };
}
