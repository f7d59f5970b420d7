/**
 * The onward exchange's decision (issue 17), pure over plain data: a tool identity presents the broker token
 * it received (RFC 8693 §2.1 `subject_token`) and names its upstream (`resource`/`audience`, RFC 8707).
 * Checks, in order: the token is addressed to this identity's tool (`aud`, RFC 9068 §4); the target is this
 * tool's upstream; the upstream scopes come only from the catalog mapping of the token's granted scopes
 * (never wider, STANDARDS 32); the user is named by the catalog's claim. The act chain grows by the tool.
 */
import type { Agent } from '../../domain/agent.js';
import type { Catalog, Tool } from '../../domain/catalog.js';
import type { ActClaim } from '../../domain/exchange.js';
import { canonicalResource } from '../../domain/resource.js';
import { deny, type Denial } from '../../exchange/reasons.js';
import type { UpstreamUser } from '../connector.js';
import type { ToolUpstream } from '../upstream-config.js';

export const BROKER_ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** The onward request's parameters, as sent (empty = omitted, RFC 8693 §2.1). */
export interface OnwardParams {
  readonly subjectToken?: string;
  readonly subjectTokenType?: string;
  readonly resource?: string;
  readonly audience?: string;
  readonly scope?: string;
}

/** A broker token's claims after its signature, `iss`, `typ` and `exp` were verified. */
export interface BrokerTokenClaims {
  readonly sub: string;
  readonly aud: string | readonly string[];
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  readonly scope?: unknown;
  readonly act?: unknown;
  readonly client_id?: unknown;
  readonly [claim: string]: unknown;
}

export interface OnwardPlan {
  readonly tool: Tool;
  readonly upstream: ToolUpstream;
  readonly user: UpstreamUser;
  /** Sorted, deduplicated: part of the cache key. */
  readonly upstreamScopes: readonly string[];
  readonly brokerScopes: readonly string[];
  readonly act: ActClaim;
  readonly brokerJti: string;
  /** The agent whose exchange minted the broker token (its `client_id`): the vault remembers which agents used a connection. */
  readonly agent?: string;
}

/** Framing of the onward request, before any token is verified. */
export function checkOnwardRequest(params: OnwardParams): Denial | { readonly subjectToken: string } {
  if (!params.subjectToken) return deny('subject_token_missing', 'subject_token is required');
  if (params.subjectTokenType !== BROKER_ACCESS_TOKEN_TYPE) {
    return deny('subject_token_type_unsupported', `a tool presents the broker access token it received (subject_token_type ${BROKER_ACCESS_TOKEN_TYPE})`);
  }
  return { subjectToken: params.subjectToken };
}

/** The tool this identity speaks for, with its upstream. */
export function toolOfIdentity(identity: Agent, catalog: Catalog): Denial | { readonly tool: Tool; readonly upstream: ToolUpstream } {
  const tool = identity.toolId === undefined ? undefined : catalog.tools.get(identity.toolId);
  if (!tool?.upstream) return deny('tool_identity_without_upstream', 'this tool identity has no upstream in the catalog');
  return { tool, upstream: tool.upstream };
}

function audiences(aud: string | readonly string[]): readonly string[] {
  return typeof aud === 'string' ? [aud] : aud;
}

/** The act claim as minted (validated when it was minted); anything else is not a chain. */
function asActClaim(value: unknown): ActClaim | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { sub?: unknown; act?: unknown };
  if (typeof v.sub !== 'string') return undefined;
  const inner = asActClaim(v.act);
  return { sub: v.sub, ...(inner ? { act: inner } : {}) };
}

/** SaaS scopes the catalog maps `brokerScopes` to, sorted and deduplicated. */
export function mapScopes(upstream: ToolUpstream, brokerScopes: readonly string[]): string[] {
  const out = new Set<string>();
  for (const scope of brokerScopes) for (const mapped of upstream.scopes.get(scope) ?? []) out.add(mapped);
  return [...out].sort();
}

export interface DecideOnwardInput {
  readonly identity: Agent;
  readonly tool: Tool;
  readonly upstream: ToolUpstream;
  readonly catalog: Catalog;
  readonly params: OnwardParams;
  readonly claims: BrokerTokenClaims;
  readonly brokerIssuer: string;
  /** `agent`: the caller is an agent receiving the credential itself (deliver_to_agent, agent-delivery.ts). */
  readonly recipient?: 'tool' | 'agent';
}

export function decideOnward(input: DecideOnwardInput): Denial | OnwardPlan {
  const { tool, upstream, claims, params } = input;
  // RFC 9068 §4: the token must be meant for this tool; a token for another tool is never reused here.
  if (!audiences(claims.aud).includes(tool.resource)) {
    return deny('onward_subject_other_tool', 'the subject_token was issued for another tool');
  }

  // RFC 8707 / RFC 8693 §2.1: the target is this tool's upstream, named by resource or audience (both: the same).
  const named = [params.resource, params.audience].filter((v): v is string => typeof v === 'string' && v !== '');
  if (named.length === 0) return deny('resource_missing', 'name the upstream in resource or audience');
  const targets = new Set(named.map((v) => canonicalResource(v) ?? v));
  if (targets.size > 1) return deny('audience_mismatch', 'resource and audience name different upstreams');
  const [target] = [...targets];
  if (target !== upstream.resource) {
    const owner = [...input.catalog.tools.values()].some((t) => t.upstream?.resource === target);
    return owner
      ? deny('upstream_not_owned', 'that upstream belongs to another tool')
      : deny('resource_unknown', 'unknown upstream');
  }

  // STANDARDS 32: the upstream scopes come only from the mapping of the scopes actually granted.
  const brokerScopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
  const allowed = mapScopes(upstream, brokerScopes);
  const requested = params.scope ? [...new Set(params.scope.split(' ').filter(Boolean))].sort() : allowed;
  const wider = requested.filter((s) => !allowed.includes(s));
  if (wider.length > 0) return deny('upstream_scope_widening', 'the requested upstream scopes exceed what the broker token grants');
  if (requested.length === 0) return deny('upstream_scope_empty', 'the broker token grants no scope that maps to this upstream');

  const upstreamSubject = claims[upstream.subjectClaim];
  if (typeof upstreamSubject !== 'string' || upstreamSubject === '') {
    return deny('upstream_subject_missing', `the subject_token has no ${upstream.subjectClaim} claim to name the user upstream`);
  }

  // RFC 8693 §4.1: the current actor outermost; the agent (and any earlier actor) nested inside, never dropped.
  const earlier = asActClaim(claims.act);
  if (input.recipient === 'agent') {
    // Only the agent the token was minted for: a broker token another agent leaked never yields a credential.
    if (claims.client_id !== input.identity.clientId || earlier?.sub !== input.identity.clientId) {
      return deny('onward_subject_other_agent', 'the subject_token was not issued to this agent');
    }
  }
  // An agent receiving it itself is already the outermost actor: the chain is the token's own.
  const act: ActClaim = input.recipient === 'agent' && earlier ? earlier : { sub: input.identity.clientId, ...(earlier ? { act: earlier } : {}) };
  return {
    tool,
    upstream,
    user: { sub: claims.sub, upstreamSubject, issuer: input.brokerIssuer },
    upstreamScopes: requested,
    brokerScopes,
    act,
    brokerJti: claims.jti,
    ...(typeof claims.client_id === 'string' ? { agent: claims.client_id } : {}),
  };
}
