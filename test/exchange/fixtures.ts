/** Small builders for the decision core's plain-data inputs. */
import type { Agent } from '../../src/domain/agent.js';
import type { RequestLimits } from '../../src/domain/broker-config.js';
import type { Catalog, TimeWindow, Tool, ToolScope } from '../../src/domain/catalog.js';
import { TOKEN_TYPE, type ExchangeRequest, type SubjectClaims } from '../../src/domain/exchange.js';
import { canonicalResource } from '../../src/domain/resource.js';
import type { ExchangePolicy } from '../../src/exchange/decide.js';

export const LIMITS: RequestLimits = { maxBodyBytes: 64 * 1024, maxTokenChars: 8192, maxScopes: 10 };

export const POLICY: ExchangePolicy = { brokerIssuer: 'https://broker.example.com', maxDelegationDepth: 4 };

/** 2025-06-04T10:00:00Z, a Wednesday. */
export const NOW_MS = Date.UTC(2025, 5, 4, 10, 0, 0);
export const NOW_S = NOW_MS / 1000;

/** A tool scope; `justifiedBy` defaults to a user scope of the same name. */
export function toolScope(name: string, justifiedBy: readonly string[] = [name]): ToolScope {
  return { name, description: `scope ${name}`, risk: 'low', justifiedBy };
}

export interface ToolSpec {
  readonly id?: string;
  readonly resource?: string;
  /** Scope name -> the user scopes that justify it. */
  readonly scopes?: Readonly<Record<string, readonly string[]>>;
  readonly maxTtlSeconds?: number;
  readonly timeWindows?: readonly TimeWindow[];
}

export function makeTool(spec: ToolSpec = {}): Tool {
  const id = spec.id ?? 'crm';
  const scopeSpec = spec.scopes ?? { 'crm.read': ['crm.read'], 'crm.write': ['crm.write', 'crm.admin'] };
  return {
    id,
    resource: spec.resource ?? `https://${id}.example.com/api`,
    description: `the ${id} tool`,
    scopes: new Map(Object.entries(scopeSpec).map(([name, by]) => [name, toolScope(name, by)])),
    maxTtlSeconds: spec.maxTtlSeconds ?? 600,
    timeWindows: spec.timeWindows ?? [],
    source: `scopes/${id}.yaml`,
  };
}

export function makeCatalog(tools: readonly Tool[]): Catalog {
  return {
    tools: new Map(tools.map((tool) => [tool.id, tool])),
    byResource: new Map(tools.map((tool) => [canonicalResource(tool.resource) ?? tool.resource, tool])),
  };
}

export interface AgentSpec {
  readonly clientId?: string;
  readonly status?: Agent['status'];
  /** Tool id -> scopes the agent may request. */
  readonly tools?: Readonly<Record<string, readonly string[]>>;
  readonly maxTtlSeconds?: number;
  readonly actorToken?: Agent['actorToken'];
}

export function makeAgent(spec: AgentSpec = {}): Agent {
  const clientId = spec.clientId ?? 'agent-mail';
  return {
    clientId,
    name: `Agent ${clientId}`,
    owner: 'team@example.com',
    status: spec.status ?? 'active',
    authentication: { method: 'client_secret_basic', secretHash: 'unused-in-these-tests' },
    tools: new Map(Object.entries(spec.tools ?? { crm: ['crm.read', 'crm.write'] })),
    maxTtlSeconds: spec.maxTtlSeconds ?? 900,
    actorToken: spec.actorToken ?? { allowed: false, subjects: [] },
    devOnly: false,
    source: `clients/${clientId}.yaml`,
  };
}

export function makeRequest(overrides: Partial<ExchangeRequest> = {}): ExchangeRequest {
  return {
    subjectToken: 'header.payload.signature',
    subjectTokenType: TOKEN_TYPE.accessToken,
    resources: ['https://crm.example.com/api'],
    audiences: [],
    scopes: ['crm.read'],
    requestedTokenType: TOKEN_TYPE.accessToken,
    ...overrides,
  };
}

export function makeSubject(overrides: Partial<SubjectClaims> = {}): SubjectClaims {
  return {
    iss: 'https://idp.example.com',
    sub: 'user-42',
    exp: NOW_S + 3600,
    iat: NOW_S - 60,
    scopes: ['crm.read', 'crm.write'],
    fingerprint: 'fp-subject',
    ...overrides,
  };
}

/** An `act` claim nested `depth` levels deep, built iteratively (actor-1 outermost). */
export function nestedAct(depth: number, prefix = 'actor'): unknown {
  let act: Record<string, unknown> | undefined;
  for (let i = depth; i >= 1; i -= 1) {
    act = act === undefined ? { sub: `${prefix}-${i}` } : { sub: `${prefix}-${i}`, act };
  }
  return act;
}
