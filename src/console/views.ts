/** The console's views of the live agent registry, statuses and catalog (plain data for JSON). */
import type { AgentRegistry } from '../domain/agent.js';
import type { Catalog } from '../domain/catalog.js';
import type { SharedState } from '../state/shared-state.js';

export async function agentViews(registry: AgentRegistry, state: SharedState, lastActivity: Readonly<Record<string, string>>) {
  return Promise.all([...registry.agents.values()].map(async (agent) => {
    const override = await state.agentOverride(agent.clientId);
    return {
      clientId: agent.clientId,
      name: agent.name,
      owner: agent.owner,
      // A suspension or revocation by an operator or the kill switch wins over the registered status.
      status: override?.status ?? agent.status,
      override: override ? { by: override.by, reason: override.reason, at: new Date(override.at * 1000).toISOString() } : null,
      tools: [...agent.tools].map(([tool, scopes]) => ({ tool, scopes })),
      maxTtlSeconds: agent.maxTtlSeconds,
      lastActivity: lastActivity[agent.clientId] ?? null,
    };
  }));
}

export function catalogView(catalog: Catalog, registry: AgentRegistry) {
  return {
    tools: [...catalog.tools.values()].map((tool) => ({
      id: tool.id,
      resource: tool.resource,
      description: tool.description,
      maxTtlSeconds: tool.maxTtlSeconds,
      timeWindows: tool.timeWindows,
      scopes: [...tool.scopes.values()].map((s) => ({ name: s.name, description: s.description, risk: s.risk, justifiedBy: s.justifiedBy })),
      agents: [...registry.agents.values()].filter((a) => a.tools.has(tool.id)).map((a) => ({ clientId: a.clientId, scopes: a.tools.get(tool.id) ?? [] })),
    })),
  };
}
