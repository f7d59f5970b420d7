/**
 * Agent identities: `clients/*.yaml`, one agent per file. Validated field by field, against the catalog
 * (every tool and scope an agent may request must exist) and across files (client ids are unique).
 */
import type { JWK } from 'jose';
import { z } from 'zod';
import { AGENT_DPOP_MODES, AGENT_STATUSES, type Agent, type AgentAuthentication, type AgentRegistry } from '../domain/agent.js';
import type { BrokerMode } from '../domain/broker-config.js';
import type { Catalog } from '../domain/catalog.js';
import { TOKEN_EXCHANGE_GRANT } from '../domain/exchange.js';
import { isClientSecretHash } from '../provider/client-secret-hash.js';
import { ConfigError } from './config-error.js';
import { catalogView, type CatalogView, type LoadOptions } from './load-catalog.js';
import {
  durationSeconds,
  mappingOf,
  nonEmptyString,
  parseFields,
  Problems,
  scopeToken,
  toolIdProblem,
  uniqueList,
} from './validate.js';
import { readYamlDir, type ConfigFile } from './yaml-files.js';
import { budgetsSchema, toAgentBudgets } from '../guardrails/budgets/budget-config.js';
import { STAGES } from '../guardrails/stages/stage.js';

/** No agent may hold tokens living longer than this. */
export const MAX_AGENT_TTL_SECONDS = 3600;

const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/u;

/** JWS algorithms an agent key may declare: asymmetric only. */
export const ASYMMETRIC_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
  'Ed25519',
] as const;

/** An algorithm name that is acceptable for verifying signatures from outside, or why it is not. */
export function algorithmProblem(alg: string): string | undefined {
  if (alg.toLowerCase() === 'none') return '"none" is never accepted: tokens must be signed';
  if (/^HS\d*$/iu.test(alg)) {
    return `"${alg}" is a shared-secret (HMAC) algorithm and is never accepted; use an asymmetric algorithm such as ES256 or RS256`;
  }
  if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) {
    return `must be one of ${ASYMMETRIC_ALGORITHMS.join(', ')}`;
  }
  return undefined;
}

export const algorithmSchema = z.string().superRefine((alg, ctx) => {
  const problem = algorithmProblem(alg);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const PLAINTEXT_SECRET_MESSAGE =
  'plaintext client secrets are never stored; hash the secret with `broker hash-secret` and put the result in authentication.secret_hash';

/** A key that must be absent: a plaintext secret. */
const plaintextSecretGuard = z
  .unknown()
  .superRefine((value, ctx) => {
    if (value !== undefined) ctx.addIssue({ code: 'custom', message: PLAINTEXT_SECRET_MESSAGE });
  })
  .optional();

/** JWK members that only private (or symmetric) keys have. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;

function privateMemberGuard(member: string) {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      if (value !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `is private key material: register only the agent's PUBLIC key (remove "${member}"; the private key stays with the agent)`,
        });
      }
    })
    .optional();
}

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/u, { error: 'must be base64url-encoded' });

const CURVES: Readonly<Record<string, readonly string[]>> = {
  EC: ['P-256', 'P-384', 'P-521'],
  OKP: ['Ed25519', 'Ed448'],
};
const REQUIRED_MEMBERS: Readonly<Record<string, readonly ('crv' | 'x' | 'y' | 'n' | 'e')[]>> = {
  EC: ['crv', 'x', 'y'],
  RSA: ['n', 'e'],
  OKP: ['crv', 'x'],
};

// Members not listed here are dropped (JWKs legitimately carry extra members); private members are errors.
const jwkSchema = z
  .object({
    kty: z.enum(['EC', 'RSA', 'OKP'], { error: (issue) => (issue.input === undefined ? undefined : 'must be one of EC, RSA, OKP (public signing keys)') }),
    kid: nonEmptyString,
    use: z.literal('sig', { error: (issue) => (issue.input === undefined ? undefined : 'must be "sig": agent keys only sign client assertions') }).optional(),
    alg: algorithmSchema.optional(),
    key_ops: z.array(z.literal('verify', { error: 'must be "verify" (a public key only verifies)' })).optional(),
    crv: z.string().optional(),
    x: base64url.optional(),
    y: base64url.optional(),
    n: base64url.optional(),
    e: base64url.optional(),
    x5c: z.array(z.string()).optional(),
    x5t: z.string().optional(),
    'x5t#S256': z.string().optional(),
    ...Object.fromEntries(PRIVATE_JWK_MEMBERS.map((member) => [member, privateMemberGuard(member)])),
  })
  .superRefine((key, ctx) => {
    for (const member of REQUIRED_MEMBERS[key.kty] ?? []) {
      if (key[member] === undefined) ctx.addIssue({ code: 'custom', path: [member], message: `is required for kty "${key.kty}"` });
    }
    const curves = CURVES[key.kty];
    if (curves && key.crv !== undefined && !curves.includes(key.crv)) {
      ctx.addIssue({ code: 'custom', path: ['crv'], message: `must be one of ${curves.join(', ')} for kty "${key.kty}"` });
    }
  });

type ParsedJwk = z.output<typeof jwkSchema>;

export function toJwk(key: ParsedJwk): JWK {
  const jwk: JWK = { kty: key.kty, kid: key.kid };
  for (const member of ['use', 'alg', 'crv', 'x', 'y', 'n', 'e', 'x5t', 'x5t#S256'] as const) {
    const value = key[member];
    if (value !== undefined) jwk[member] = value;
  }
  if (key.key_ops) jwk.key_ops = [...key.key_ops];
  if (key.x5c) jwk.x5c = [...key.x5c];
  return jwk;
}

export const jwksSchema = z.strictObject({
  keys: z
    .array(jwkSchema)
    .min(1)
    .superRefine((keys, ctx) => {
      const seen = new Set<string>();
      keys.forEach((key, index) => {
        if (seen.has(key.kid)) ctx.addIssue({ code: 'custom', path: [index, 'kid'], message: `repeats the kid "${key.kid}"` });
        seen.add(key.kid);
      });
    }),
});

const authenticationSchema = z.discriminatedUnion('method', [
  z.strictObject({
    method: z.literal('client_secret_basic'),
    secret_hash: z.string().refine(isClientSecretHash, {
      error: 'must be a hash produced by `broker hash-secret` (scrypt$N$r$p$salt$hash)',
    }),
    secret: plaintextSecretGuard,
    client_secret: plaintextSecretGuard,
  }),
  z.strictObject({
    method: z.literal('private_key_jwt'),
    jwks: jwksSchema,
    secret: plaintextSecretGuard,
    client_secret: plaintextSecretGuard,
  }),
]);

const actorTokenSchema = z.strictObject({
  allowed: z.boolean().default(false),
  subjects: uniqueList(nonEmptyString, 'subject').default([]),
});

/** The grants an agent may be registered for: the broker serves only token exchange (RFC 8693). */
export const AGENT_GRANT_TYPES = [TOKEN_EXCHANGE_GRANT] as const;

/**
 * `grant_types` (RFC 7591 §2): the grants the agent may use; default the token-exchange grant. An empty list
 * keeps the registration (its id, owner and records) while its grant is withdrawn: `unauthorized_client`.
 */
const grantTypesSchema = uniqueList(
  z.string().superRefine((grant, ctx) => {
    if (!(AGENT_GRANT_TYPES as readonly string[]).includes(grant)) {
      ctx.addIssue({ code: 'custom', message: `"${grant}" is not a grant this broker serves (it serves only ${TOKEN_EXCHANGE_GRANT}); use [] to withdraw the grant` });
    }
  }),
  'grant type',
).default([TOKEN_EXCHANGE_GRANT]);

const agentFileShape = {
  client_id: z.string().regex(CLIENT_ID, {
    error: 'must be 1-128 characters of A-Z, a-z, 0-9, ".", "_" or "-", starting with a letter or digit',
  }),
  name: nonEmptyString,
  owner: nonEmptyString,
  status: z.enum(AGENT_STATUSES).default('active'),
  dev_only: z.boolean().default(false),
  authentication: authenticationSchema,
  tools: mappingOf(toolIdProblem, uniqueList(scopeToken, 'scope').min(1))
    .refine((tools) => Object.keys(tools).length > 0, { error: 'must list at least one tool' })
    .optional(),
  /** Issue 17: `tool` registers a tool identity for the onward exchange (src/domain/agent.ts). */
  kind: z.enum(['agent', 'tool'], { error: 'must be agent or tool' }).default('agent'),
  tool: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/u, { error: 'must be a tool id of the catalog' }).optional(),
  max_ttl: durationSeconds({ max: MAX_AGENT_TTL_SECONDS }),
  actor_token: actorTokenSchema.optional(),
  grant_types: grantTypesSchema,
  dpop: z.enum(AGENT_DPOP_MODES, { error: (issue) => (issue.input === undefined ? undefined : 'must be one of optional, required (RFC 9449 proof of possession)') }).default('optional'),
  // Issue 18 guardrails: the rollout stage and the budgets (src/guardrails/).
  stage: z.enum(STAGES, { error: (issue) => (issue.input === undefined ? undefined : `must be one of ${STAGES.join(', ')}`) }).default('autonomous'),
  budgets: budgetsSchema.optional(),
};

/** Whether `data` has the key at all (a present but invalid `tools` is reported by its schema already). */
function isMappingWith(data: unknown, key: string): boolean {
  return typeof data === 'object' && data !== null && Object.hasOwn(data, key);
}

function listIds(ids: Iterable<string>): string {
  const list = [...ids].sort();
  return list.length === 0 ? 'none' : list.join(', ');
}

/**
 * Validates every agent file, recording problems; returns the agents that validated completely.
 * `mode` undefined (the broker configuration itself is broken) skips the production-only checks.
 */
export function collectAgents(
  files: readonly ConfigFile[],
  catalog: CatalogView,
  mode: BrokerMode | undefined,
  problems: Problems,
): AgentRegistry {
  const agents = new Map<string, Agent>();
  const idOwner = new Map<string, string>();

  for (const { source, data } of files) {
    const fields = parseFields(agentFileShape, data, source, [], problems);
    if (!fields) continue;
    let usable = true;

    const clientId = fields.client_id;
    if (clientId !== undefined) {
      const owner = idOwner.get(clientId);
      if (owner !== undefined) {
        problems.add(source, ['client_id'], `duplicate client_id "${clientId}": already registered in ${owner}`);
        usable = false;
      } else {
        idOwner.set(clientId, source);
      }
    }

    if (fields.dev_only === true && mode === 'production') {
      problems.add(
        source,
        ['dev_only'],
        'this is a development-only sample identity and is refused in production mode; remove the file from the clients directory',
      );
      usable = false;
    }

    if (fields.tools) {
      for (const [tool, scopes] of Object.entries(fields.tools)) {
        if (!catalog.tools.has(tool)) {
          if (catalog.complete) {
            problems.add(source, ['tools', tool], `unknown tool "${tool}" (catalog tools: ${listIds(catalog.tools.keys())})`);
            usable = false;
          }
          continue;
        }
        const defined = catalog.tools.get(tool);
        if (defined === undefined) continue; // that tool's own scopes are broken; reported in its file
        scopes.forEach((scope, index) => {
          if (!defined.has(scope)) {
            problems.add(
              source,
              ['tools', tool, index],
              `scope "${scope}" is not defined by tool "${tool}" (its scopes: ${listIds(defined)})`,
            );
            usable = false;
          }
        });
      }
    }

    // Issue 17: an agent lists tools; a tool identity names the one catalog tool (with an upstream) it speaks for.
    if (fields.kind === 'tool') {
      if (fields.tools !== undefined) { problems.add(source, ['tools'], 'a tool identity lists no tools: it names its own tool in `tool`'); usable = false; }
      if (fields.tool === undefined) { problems.add(source, ['tool'], 'is required for kind: tool'); usable = false; }
      else if (catalog.complete && !catalog.tools.has(fields.tool)) { problems.add(source, ['tool'], `unknown tool "${fields.tool}" (catalog tools: ${listIds(catalog.tools.keys())})`); usable = false; }
      else if (catalog.upstreamTools && catalog.tools.has(fields.tool) && !catalog.upstreamTools.has(fields.tool)) { problems.add(source, ['tool'], `tool "${fields.tool}" declares no upstream: a tool identity exists only for an onward exchange`); usable = false; }
    } else if (fields.kind === 'agent') {
      if (fields.tool !== undefined) { problems.add(source, ['tool'], 'only a tool identity (kind: tool) names a tool; an agent lists its tools in `tools`'); usable = false; }
      if (fields.tools === undefined && !isMappingWith(data, 'tools')) { problems.add(source, ['tools'], 'is required'); usable = false; }
    }

    // Issue 18: a tool budget names a tool this agent is registered for.
    for (const tool of Object.keys(fields.budgets?.tools ?? {})) {
      if (fields.tools && !Object.hasOwn(fields.tools, tool)) {
        problems.add(source, ['budgets', 'tools', tool], `the agent is not registered for tool "${tool}" (its tools: ${listIds(Object.keys(fields.tools))})`);
        usable = false;
      }
    }

    const actorToken = fields.actor_token ?? { allowed: false, subjects: [] };
    if (!actorToken.allowed && actorToken.subjects.length > 0) {
      problems.add(source, ['actor_token', 'subjects'], 'must be empty when actor_token.allowed is false');
      usable = false;
    }

    const { name, owner, status, dev_only: devOnly, authentication, max_ttl: maxTtl, dpop, grant_types: grantTypes, kind } = fields;
    const tools = kind === 'tool' ? {} : fields.tools;
    if (
      !usable ||
      clientId === undefined ||
      name === undefined ||
      owner === undefined ||
      status === undefined ||
      devOnly === undefined ||
      authentication === undefined ||
      tools === undefined ||
      maxTtl === undefined ||
      dpop === undefined ||
      grantTypes === undefined ||
      kind === undefined
    ) {
      continue;
    }
    const auth: AgentAuthentication =
      authentication.method === 'client_secret_basic'
        ? { method: 'client_secret_basic', secretHash: authentication.secret_hash }
        : { method: 'private_key_jwt', jwks: { keys: authentication.jwks.keys.map(toJwk) } };
    agents.set(clientId, {
      clientId,
      name,
      owner,
      status,
      authentication: auth,
      tools: new Map(Object.entries(tools)),
      maxTtlSeconds: maxTtl,
      actorToken: { allowed: actorToken.allowed, subjects: actorToken.subjects },
      dpop,
      grantTypes,
      ...(fields.stage !== undefined && fields.stage !== 'autonomous' ? { stage: fields.stage } : {}),
      ...(fields.budgets ? { budgets: toAgentBudgets(fields.budgets) } : {}),
      devOnly,
      source,
      ...(kind === 'tool' && fields.tool !== undefined ? { kind, toolId: fields.tool } : {}),
    });
  }
  return { agents };
}

/** Builds the registry from already-parsed files, checked against `catalog`. Throws ConfigError. */
export function buildAgents(
  files: readonly { source: string; data: unknown }[],
  catalog: Catalog,
  mode: BrokerMode,
): AgentRegistry {
  const problems = new Problems();
  const registry = collectAgents(files, catalogView(catalog), mode, problems);
  if (problems.size > 0) throw new ConfigError(problems.list);
  return registry;
}

/** Reads every `*.yaml` / `*.yml` file directly in `dir` (sorted by name). Throws ConfigError. */
export async function loadAgents(
  dir: string,
  catalog: Catalog,
  mode: BrokerMode,
  options: LoadOptions = {},
): Promise<AgentRegistry> {
  const problems = new Problems();
  const files = await readYamlDir(dir, options.cwd ?? process.cwd(), 'agent', problems);
  const registry = collectAgents(files, catalogView(catalog), mode, problems);
  if (problems.size > 0) throw new ConfigError(problems.list);
  return registry;
}
