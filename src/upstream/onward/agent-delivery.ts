/**
 * `deliver_to_agent: true` (issue 17): where a tool's catalog entry says so explicitly, an *agent* may perform
 * the onward exchange for that tool itself and receive the user's SaaS credential. The default is never: the
 * credential then goes to the tool identity alone (the enforcement point), and an agent's request for it is
 * refused. Pure over plain data.
 */
import type { Catalog, Tool } from '../../domain/catalog.js';
import { canonicalResource } from '../../domain/resource.js';
import { deny, type Denial } from '../../exchange/reasons.js';
import type { ToolUpstream } from '../upstream-config.js';
import type { OnwardParams } from './decide-onward.js';

/** The catalog upstream an agent's request names (RFC 8707 `resource` or RFC 8693 `audience`), if any. */
export function namedUpstream(params: OnwardParams, catalog: Catalog): string | undefined {
  for (const value of [params.resource, params.audience]) {
    if (value === undefined || value === '') continue;
    const target = canonicalResource(value) ?? value;
    // A tool's own resource is the ordinary agent exchange, never an onward one.
    if (catalog.byResource.has(target)) continue;
    if ([...catalog.tools.values()].some((t) => t.upstream?.resource === target)) return target;
  }
  return undefined;
}

/**
 * The tool whose upstream `target` the agent asks for: among the tools sharing that upstream, the one the
 * presented token names in `aud` (unverified here; decideOnward checks it after the signature), else one that
 * allows delivery to agents. Refused unless that tool's catalog entry says `deliver_to_agent: true`.
 */
export function toolForAgent(catalog: Catalog, target: string, unverifiedAud: readonly string[]): Denial | { readonly tool: Tool; readonly upstream: ToolUpstream } {
  const sharing = [...catalog.tools.values()].flatMap((tool) => (tool.upstream?.resource === target ? [{ tool, upstream: tool.upstream }] : []));
  const chosen = sharing.find((c) => unverifiedAud.includes(c.tool.resource)) ?? sharing.find((c) => c.upstream.deliverToAgent);
  if (!chosen?.upstream.deliverToAgent) return deny('upstream_agent_delivery_refused', 'the credential for this upstream is delivered to its tool only (its catalog entry does not say deliver_to_agent: true)');
  return chosen;
}
