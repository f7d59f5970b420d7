/**
 * Agent identities, as security teams register them in `clients/*.yaml` (one per file), after validation.
 * An agent is never a principal: it only ever acts for a user.
 */
import type { JWK } from 'jose';
import type { AgentBudgets } from '../guardrails/budgets/budget-types.js';
import type { Stage } from '../guardrails/stages/stage.js';

export const AGENT_STATUSES = ['active', 'suspended'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

export const AGENT_DPOP_MODES = ['optional', 'required'] as const;
export type AgentDpop = (typeof AGENT_DPOP_MODES)[number];

export type AgentAuthentication =
  | { readonly method: 'private_key_jwt'; readonly jwks: { readonly keys: readonly JWK[] } }
  /** `secretHash` is the encoded hash (see src/provider/client-secret-hash.ts); the secret itself is never stored. */
  | { readonly method: 'client_secret_basic'; readonly secretHash: string };

export interface Agent {
  readonly clientId: string;
  readonly name: string;
  /** The accountable owner (a person or team address). */
  readonly owner: string;
  readonly status: AgentStatus;
  readonly authentication: AgentAuthentication;
  /** Tool id -> the scopes of that tool this agent may request. A tool not listed here is refused. */
  readonly tools: ReadonlyMap<string, readonly string[]>;
  /** Upper bound on the lifetime of any token minted for this agent. */
  readonly maxTtlSeconds: number;
  /** Whether the agent may present an `actor_token`, and which subjects that token may name besides the agent itself. */
  readonly actorToken: { readonly allowed: boolean; readonly subjects: readonly string[] };
  /**
   * RFC 9449: `required` = every token request must carry a valid DPoP proof and every token is
   * DPoP-bound; `optional` (the default when absent) = bound when the agent sends a proof.
   */
  readonly dpop?: AgentDpop;
  /**
   * The grants this agent may use (RFC 7591 `grant_types`). Absent = the token-exchange grant; an empty
   * list keeps the registration (and its records) while withdrawing the grant: `unauthorized_client`.
   */
  readonly grantTypes?: readonly string[];
  /** Issue 18: the rollout stage (absent = `autonomous`); an admin action may override it at run time. */
  readonly stage?: Stage;
  /** Issue 18: exchange and amount budgets (absent = none). */
  readonly budgets?: AgentBudgets;
  /** A sample identity that only the embedded development mode will load. */
  readonly devOnly: boolean;
  /**
   * Issue 17: `tool` = a tool identity (an MCP server or API in front of a SaaS), registered here like an agent
   * and authenticated the same way, that may only perform the onward exchange for `toolId`'s upstream; it
   * never uses the agent path, and an agent never the onward path. Absent = `agent`.
   */
  readonly kind?: 'agent' | 'tool';
  readonly toolId?: string;
  readonly source: string;
}

export interface AgentRegistry {
  readonly agents: ReadonlyMap<string, Agent>;
}
