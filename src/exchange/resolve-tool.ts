/**
 * Finds the one tool a request targets (RFC 8707 `resource`, RFC 8693 `audience`).
 * `resource` is an absolute URI looked up by its canonical form; an `audience` value may name a tool
 * by id or by resource URI. Every value given must point at the same single tool.
 */
import type { Catalog, Tool } from '../domain/catalog.js';
import type { ExchangeRequest } from '../domain/exchange.js';
import { canonicalResource } from '../domain/resource.js';
import { deny, isDenial, type Denial } from './reasons.js';

function toolForResource(resource: string, catalog: Catalog): Tool | Denial {
  // Agents usually send the registered (canonical) spelling: an exact hit needs no URL parsing, and is
  // the same answer canonicalisation would give because canonical forms are fixed points of it.
  const exact = catalog.byResource.get(resource);
  if (exact !== undefined) return exact;
  const canonical = canonicalResource(resource);
  if (canonical === undefined) {
    return deny('resource_invalid', 'resource must be an absolute URI without fragment or credentials');
  }
  return catalog.byResource.get(canonical) ?? deny('resource_unknown', 'resource does not name a known tool');
}

/**
 * The tool an audience value names, by id or by canonical resource URI. A value that would name two
 * different tools (an id that is also another tool's URI) is ambiguous and refused.
 */
function toolForAudience(audience: string, catalog: Catalog): Tool | Denial {
  const byId = catalog.tools.get(audience);
  const canonical = canonicalResource(audience);
  const byResource = canonical === undefined ? undefined : catalog.byResource.get(canonical);
  if (byId !== undefined && byResource !== undefined && byId.id !== byResource.id) {
    return deny('audience_mismatch', 'audience is ambiguous');
  }
  return byId ?? byResource ?? deny('resource_unknown', 'audience does not name a known tool');
}

export function resolveTool(request: ExchangeRequest, catalog: Catalog): Tool | Denial {
  if (request.resources.length === 0 && request.audiences.length === 0) {
    return deny('resource_missing', 'resource or audience is required');
  }
  if (request.resources.length > 1) return deny('resource_multiple', 'exactly one resource may be requested');

  let target: Tool | undefined;
  const [resource] = request.resources;
  if (resource !== undefined) {
    const tool = toolForResource(resource, catalog);
    if (isDenial(tool)) return tool;
    target = tool;
  }
  for (const audience of request.audiences) {
    const tool = toolForAudience(audience, catalog);
    if (isDenial(tool)) return tool;
    if (target !== undefined && target.id !== tool.id) {
      return deny('audience_mismatch', 'resource and audience must name the same tool');
    }
    target = tool;
  }
  // Unreachable when at least one resource or audience was given; kept so the function is total.
  return target ?? deny('resource_missing', 'resource or audience is required');
}
