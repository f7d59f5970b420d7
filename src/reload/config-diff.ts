/**
 * What a reload changes, as plain data (pure): tools and agents added, removed or changed. Agents' credentials
 * are among what a reload may change: both places that authenticate agents (the token endpoint and `/revoke`)
 * read the agents in force on every request (reload/live-config.ts).
 */
import type { Agent } from '../domain/agent.js';
import type { Tool } from '../domain/catalog.js';
import type { ConfigSet } from './load-sets.js';

export interface NamedChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

export interface ConfigDiff {
  readonly tools: NamedChanges;
  readonly agents: NamedChanges;
}

/** Maps become sorted entry lists, so equal content serialises equally whatever the insertion order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Map) return [...(v as Map<string, unknown>).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return v;
  });
}

/** The content that decides exchanges (where it was loaded from does not). */
function toolContent({ source: _source, ...tool }: Tool): string {
  return canonical(tool);
}

function agentContent({ source: _source, ...agent }: Agent): string {
  return canonical(agent);
}

function compare<T>(before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>, content: (item: T) => string): NamedChanges {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [id, item] of after) {
    const old = before.get(id);
    if (old === undefined) added.push(id);
    else if (content(old) !== content(item)) changed.push(id);
  }
  for (const id of before.keys()) if (!after.has(id)) removed.push(id);
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort() };
}

export function diffConfig(before: ConfigSet, after: ConfigSet): ConfigDiff {
  return {
    tools: compare(before.catalog.tools, after.catalog.tools, toolContent),
    agents: compare(before.agents.agents, after.agents.agents, agentContent),
  };
}

export function isEmptyDiff(diff: ConfigDiff): boolean {
  return [diff.tools, diff.agents].every((c) => c.added.length + c.removed.length + c.changed.length === 0);
}

/** One line for the admin record and the log, e.g. `tools: ~crm; agents: +billing-bot -old-bot`. */
export function diffSummary(diff: ConfigDiff): string {
  const part = (name: string, c: NamedChanges): string => {
    const items = [...c.added.map((id) => `+${id}`), ...c.removed.map((id) => `-${id}`), ...c.changed.map((id) => `~${id}`)];
    return `${name}: ${items.length === 0 ? 'unchanged' : items.join(' ')}`;
  };
  return `${part('tools', diff.tools)}; ${part('agents', diff.agents)}`;
}

/** The largest tool lifetime: the signing-key schedule keeps retired keys this long (keys/key-schedule.ts). */
export function maxToolTtlSeconds(set: ConfigSet): number {
  let max = 0;
  for (const tool of set.catalog.tools.values()) max = Math.max(max, tool.maxTtlSeconds);
  return max;
}
