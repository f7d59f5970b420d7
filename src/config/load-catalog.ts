/**
 * The scope catalog: `scopes/*.yaml`, one tool per file. Every file is validated field by field, then
 * across files (tool ids and canonical resources must be unique); all problems are reported together.
 */
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { RISK_LEVELS, WEEKDAYS, type Catalog, type TimeWindow, type Tool, type ToolScope } from '../domain/catalog.js';
import { canonicalResource } from '../domain/resource.js';
import { actionTypesSchema, guardrailProblems, toolApprovalSchema } from './catalog-approvals.js';
import { ConfigError } from './config-error.js';
import {
  durationSeconds,
  isMapping,
  mappingOf,
  nonEmptyString,
  parseFields,
  Problems,
  scopeToken,
  scopeTokenProblem,
  toolId,
  uniqueList,
} from './validate.js';
import { readYamlDir, type ConfigFile } from './yaml-files.js';
import { toToolUpstream, upstreamSchema } from '../upstream/upstream-config.js';

/** No tool may allow tokens living longer than this. */
export const MAX_TOOL_TTL_SECONDS = 3600;

const TIME_MESSAGE = 'must be a time of day "HH:MM" (24-hour clock, 00:00 to 23:59, quoted)';
const timeOfDay = z
  .string({ error: (issue) => (issue.input === undefined ? undefined : TIME_MESSAGE) })
  .regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/u, { error: TIME_MESSAGE });

const timeZone = z.string().refine((zone) => IANAZone.isValidZone(zone), {
  error: 'must be a valid IANA time zone, e.g. "Europe/Berlin" or "UTC"',
});

const timeWindowSchema = z.strictObject({
  days: uniqueList(z.enum(WEEKDAYS), 'day').min(1),
  from: timeOfDay,
  to: timeOfDay,
  time_zone: timeZone,
});

const toolScopeSchema = z.strictObject({
  description: nonEmptyString,
  risk: z.enum(RISK_LEVELS),
  justified_by: uniqueList(scopeToken, 'scope').min(1),
  // Issue 18 rollout stages: read scopes are what read_only agents get (absent = write).
  access: z.enum(['read', 'write']).optional(),
  /** Issue 18: no token with this scope without a person's approval. */
  approval: z.literal('required', { error: 'must be "required" (or left out)' }).optional(),
});

const resourceSchema = z.string().transform((value, ctx): string => {
  const canonical = canonicalResource(value);
  if (canonical === undefined) {
    ctx.addIssue({
      code: 'custom',
      message:
        'must be an absolute URI without a fragment, credentials or surrounding spaces (e.g. "https://crm.example.internal/api")',
    });
    return z.NEVER;
  }
  return canonical;
});

const toolFileShape = {
  id: toolId,
  description: nonEmptyString,
  resource: resourceSchema,
  max_ttl: durationSeconds({ max: MAX_TOOL_TTL_SECONDS }),
  scopes: mappingOf(scopeTokenProblem, toolScopeSchema)
    .refine((scopes) => Object.keys(scopes).length > 0, { error: 'must define at least one scope' }),
  time_windows: z
    .array(timeWindowSchema)
    .nullable()
    .optional()
    .transform((windows) => windows ?? []),
  /** Issue 17: the SaaS this tool fronts (src/upstream/upstream-config.ts). */
  upstream: upstreamSchema.optional(),
  // Issue 18 (approvals): src/config/catalog-approvals.ts.
  action_types: actionTypesSchema.optional(),
  approval: toolApprovalSchema.optional(),
};

/**
 * What the agent loader needs to check references: tool id -> its scope names (undefined when that tool's
 * scopes did not validate). `complete` is false when some catalog file could not even yield a tool id, in
 * which case a reference to an unknown tool may point at that broken file and is not reported.
 */
export interface CatalogView {
  readonly tools: ReadonlyMap<string, ReadonlySet<string> | undefined>;
  readonly complete: boolean;
  /** Tools that declare an `upstream:` (a tool identity may only be registered for one of these). */
  readonly upstreamTools?: ReadonlySet<string>;
}

export function catalogView(catalog: Catalog): CatalogView {
  return {
    tools: new Map([...catalog.tools].map(([id, tool]) => [id, new Set(tool.scopes.keys())])),
    complete: true,
    upstreamTools: new Set([...catalog.tools.values()].filter((t) => t.upstream).map((t) => t.id)),
  };
}

/** Validates every file, recording problems; returns the tools that validated completely. */
export function collectCatalog(files: readonly ConfigFile[], problems: Problems): { catalog: Catalog; view: CatalogView } {
  const tools = new Map<string, Tool>();
  const byResource = new Map<string, Tool>();
  const viewTools = new Map<string, ReadonlySet<string> | undefined>();
  const idOwner = new Map<string, string>();
  const resourceOwner = new Map<string, { source: string; id: string | undefined }>();
  const upstreamTools = new Set<string>();
  let complete = true;

  for (const { source, data } of files) {
    const fields = parseFields(toolFileShape, data, source, [], problems);
    if (!fields) {
      complete = false;
      continue;
    }
    let usable = true;

    const { id } = fields;
    if (id === undefined) {
      complete = false;
      usable = false;
    } else {
      const owner = idOwner.get(id);
      if (owner !== undefined) {
        problems.add(source, ['id'], `duplicate tool id "${id}": already defined in ${owner}`);
        usable = false;
      } else {
        idOwner.set(id, source);
        viewTools.set(id, fields.scopes ? new Set(Object.keys(fields.scopes)) : undefined);
      }
    }

    if (fields.resource !== undefined) {
      const owner = resourceOwner.get(fields.resource);
      if (owner !== undefined) {
        const raw = isMapping(data) && typeof data.resource === 'string' ? data.resource : fields.resource;
        const written = raw === fields.resource ? `"${raw}"` : `"${raw}" (canonical form "${fields.resource}")`;
        const by = owner.id === undefined ? '' : ` by tool "${owner.id}"`;
        problems.add(source, ['resource'], `duplicate resource ${written}: already registered${by} in ${owner.source}`);
        usable = false;
      } else {
        resourceOwner.set(fields.resource, { source, id });
      }
    }

    // Issue 17: the upstream scope mapping may only name this tool's own scopes.
    if (fields.upstream && fields.scopes) {
      for (const name of Object.keys(fields.upstream.scopes)) {
        if (!Object.hasOwn(fields.scopes, name)) {
          problems.add(source, ['upstream', 'scopes', name], `is not a scope of this tool (its scopes: ${Object.keys(fields.scopes).join(', ')})`);
          usable = false;
        }
      }
    }
    if (fields.upstream && id !== undefined) upstreamTools.add(id);

    const { description, resource, max_ttl: maxTtl, scopes, time_windows: windows } = fields;
    if (
      !usable ||
      id === undefined ||
      description === undefined ||
      resource === undefined ||
      maxTtl === undefined ||
      scopes === undefined ||
      windows === undefined
    ) {
      continue;
    }
    const tool: Tool = {
      id,
      resource,
      description,
      maxTtlSeconds: maxTtl,
      source,
      scopes: new Map(
        Object.entries(scopes).map(([name, scope]): [string, ToolScope] => [
          name,
          { name, description: scope.description, risk: scope.risk, justifiedBy: scope.justified_by, ...(scope.access ? { access: scope.access } : {}), ...(scope.approval ? { approval: scope.approval } : {}) },
        ]),
      ),
      timeWindows: windows.map(
        (window): TimeWindow => ({ days: window.days, from: window.from, to: window.to, timeZone: window.time_zone }),
      ),
      ...(fields.upstream ? { upstream: toToolUpstream(fields.upstream) } : {}),
      ...(fields.action_types ? { actionTypes: fields.action_types } : {}),
      ...(fields.approval ? { approval: fields.approval } : {}),
    };
    if (!guardrailProblems(tool, problems)) continue;
    tools.set(id, tool);
    byResource.set(resource, tool);
  }

  return { catalog: { tools, byResource }, view: { tools: viewTools, complete, upstreamTools } };
}

/** Builds a catalog from already-parsed files (`source` names each in problems). Throws ConfigError. */
export function buildCatalog(files: readonly { source: string; data: unknown }[]): Catalog {
  const problems = new Problems();
  const { catalog } = collectCatalog(files, problems);
  if (problems.size > 0) throw new ConfigError(problems.list);
  return catalog;
}

export interface LoadOptions {
  /** Paths in problems are shown relative to this directory (default: the process's working directory). */
  readonly cwd?: string;
}

/** Reads every `*.yaml` / `*.yml` file directly in `dir` (sorted by name). Throws ConfigError. */
export async function loadCatalog(dir: string, options: LoadOptions = {}): Promise<Catalog> {
  const problems = new Problems();
  const files = await readYamlDir(dir, options.cwd ?? process.cwd(), 'tool', problems);
  const { catalog } = collectCatalog(files, problems);
  if (problems.size > 0) throw new ConfigError(problems.list);
  return catalog;
}
