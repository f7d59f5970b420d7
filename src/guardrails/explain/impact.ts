/**
 * What-if for a catalog or agents change (issue 18 §4): replays recorded exchanges against the old and the
 * new configuration and lists who would gain or lose which scopes, so a change is reviewed like a diff.
 * Pure over plain data: the caller streams the records and loads both configurations.
 *
 * A record does not hold the user's token, only what it justified: a scope granted (or dropped for another
 * reason) counts as justified by the user, one dropped as `not_justified_by_user` as not. When a scope's
 * `justified_by` changes, that assumption may not hold: the line says so (`user_check_changed`).
 */
import type { ExchangeRecord } from '../../attribution/record.js';
import type { AgentRegistry } from '../../domain/agent.js';
import type { Catalog } from '../../domain/catalog.js';
import { applyStage } from '../stages/stage.js';

export interface ImpactConfig {
  readonly catalog: Catalog;
  readonly agents: AgentRegistry;
}

export interface ImpactLine {
  readonly agent: string;
  readonly user: string;
  readonly tool: string;
  readonly requested: readonly string[];
  readonly before: readonly string[];
  readonly after: readonly string[];
  readonly gained: readonly string[];
  readonly lost: readonly string[];
  /** Scopes whose `justified_by` changed: the user's side could not be replayed exactly. */
  readonly user_check_changed?: readonly string[];
  /** Requests recorded for this agent, user, tool and scope set. */
  readonly requests: number;
}

/** What the configuration would grant for this recorded request (time windows and budgets aside). */
export function replay(record: ExchangeRecord, config: ImpactConfig): string[] {
  const clientId = record.agent.client_id;
  const agent = clientId === null ? undefined : config.agents.agents.get(clientId);
  const tool = record.tool ? config.catalog.tools.get(record.tool.id) : undefined;
  if (!agent || !tool || agent.status !== 'active') return [];
  const allowed = new Set(agent.tools.get(tool.id) ?? []);
  const unjustified = new Set((record.scopes?.dropped ?? []).filter((d) => d.reason === 'not_justified_by_user').map((d) => d.scope));
  const granted = (record.scopes?.requested ?? []).filter((s) => tool.scopes.has(s) && allowed.has(s) && !unjustified.has(s));
  if (granted.length === 0) return [];
  const staged = applyStage(agent.stage ?? 'autonomous', tool, { requested: record.scopes?.requested ?? [], granted, dropped: [] });
  // A shadow agent is granted nothing; a supervised one is still granted its scopes, after approval.
  if ('decision' in staged || staged.kind === 'shadow') return [];
  return [...staged.scopes.granted];
}

function justifiedByChanged(scope: string, toolId: string, before: ImpactConfig, after: ImpactConfig): boolean {
  const a = before.catalog.tools.get(toolId)?.scopes.get(scope)?.justifiedBy;
  const b = after.catalog.tools.get(toolId)?.scopes.get(scope)?.justifiedBy;
  return a !== undefined && b !== undefined && [...a].sort().join(' ') !== [...b].sort().join(' ');
}

export async function impactOf(records: AsyncIterable<ExchangeRecord> | Iterable<ExchangeRecord>, before: ImpactConfig, after: ImpactConfig): Promise<ImpactLine[]> {
  const lines = new Map<string, ImpactLine>();
  for await (const record of records) {
    const tool = record.tool;
    if (!tool || !record.scopes || record.agent.client_id === null) continue;
    const requested = [...record.scopes.requested].sort();
    const key = JSON.stringify([record.agent.client_id, record.user?.sub ?? '', tool.id, requested]);
    const seen = lines.get(key);
    if (seen) {
      lines.set(key, { ...seen, requests: seen.requests + 1 });
      continue;
    }
    const was = replay(record, before);
    const will = replay(record, after);
    const changed = requested.filter((s) => justifiedByChanged(s, tool.id, before, after));
    lines.set(key, {
      agent: record.agent.client_id, user: record.user?.sub ?? '', tool: tool.id, requested, before: was, after: will,
      gained: will.filter((s) => !was.includes(s)), lost: was.filter((s) => !will.includes(s)),
      ...(changed.length > 0 ? { user_check_changed: changed } : {}), requests: 1,
    });
  }
  return [...lines.values()].filter((l) => l.gained.length > 0 || l.lost.length > 0 || l.user_check_changed !== undefined);
}
