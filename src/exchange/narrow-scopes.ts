/**
 * Scope narrowing: granted = requested ∩ tool catalog ∩ agent allow-list ∩ what the user's token justifies.
 * Never a widening. Comparisons are exact, case-sensitive string equality.
 */
import type { Tool } from '../domain/catalog.js';
import type { DroppedScopeReason, ScopeOutcome } from '../domain/exchange.js';

/**
 * Why a requested scope cannot be granted, or null if it can. Reasons are checked in a fixed order,
 * so each dropped scope gets exactly one.
 */
function dropReason(
  scope: string,
  tool: Tool,
  agentAllowed: ReadonlySet<string>,
  userScopes: ReadonlySet<string>,
): DroppedScopeReason | null {
  const toolScope = tool.scopes.get(scope);
  if (toolScope === undefined) return 'not_in_catalog';
  if (!agentAllowed.has(scope)) return 'not_allowed_for_agent';
  // A user token with no scopes (or only unknown ones) justifies nothing.
  if (!toolScope.justifiedBy.some((userScope) => userScopes.has(userScope))) return 'not_justified_by_user';
  return null;
}

export function narrowScopes(
  requested: readonly string[],
  tool: Tool,
  agentAllowed: readonly string[],
  userScopes: readonly string[],
): ScopeOutcome {
  // Requests are normally de-duplicated by the parser; collapsing here too keeps the outcome a set.
  const distinct = [...new Set(requested)];
  const allowed = new Set(agentAllowed);
  const user = new Set(userScopes);
  const granted: string[] = [];
  const dropped: { scope: string; reason: DroppedScopeReason }[] = [];
  for (const scope of distinct) {
    const reason = dropReason(scope, tool, allowed, user);
    if (reason === null) granted.push(scope);
    else dropped.push({ scope, reason });
  }
  return { requested: distinct, granted, dropped };
}
