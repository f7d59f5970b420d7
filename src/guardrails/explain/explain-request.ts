/**
 * The body of `POST /admin/explain` (and `broker explain`), checked and turned into an ExplainInput:
 *   { "agent": "demo-agent", "tool": "crm" | "<resource URI>", "scope": "a b" | ["a", "b"],
 *     "subject_token": "<a user's token>"            (verified exactly as at /token), or
 *     "claims": { "iss": "...", "sub": "alice", "scope": "crm.read", "exp": 1767225600 }   (dry run),
 *     "authorization_details": [{ "type": "payment", "actions": ["create_payment"], "arguments_sha256": "...",
 *                                 "amount": "12.00", "currency": "USD", ... }]   (exactly as sent to /token) }
 */
import type { AgentRegistry } from '../../domain/agent.js';
import type { Catalog } from '../../domain/catalog.js';
import type { SubjectClaims } from '../../domain/exchange.js';
import { canonicalResource } from '../../domain/resource.js';
import { isDenial } from '../../exchange/reasons.js';
import type { IncomingTokenVerifier } from '../../subject-token/verify-incoming-token.js';
import { GuardrailAdminError } from '../admin/json-body.js';
import { explainExchange, type ExplainDeps, type ExplainTrace } from './explain.js';

export interface ExplainRequestDeps extends ExplainDeps {
  readonly agents: () => AgentRegistry;
  readonly catalog: () => Catalog;
  readonly verifier: IncomingTokenVerifier;
  readonly agentOverride: (clientId: string) => Promise<{ readonly status: string } | null>;
  readonly now: () => number;
}

const bad = (message: string) => new GuardrailAdminError(400, 'invalid_request', message);

function scopesOf(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return value.split(' ').filter((s) => s !== '');
  if (Array.isArray(value) && value.every((s) => typeof s === 'string')) return value;
  throw bad(`${name} must be a space-separated string or a list of strings`);
}

/** RFC 9396 authorization_details as an agent sends them to /token: a JSON array, or its text. */
function rawDetailsOf(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return JSON.stringify(value);
  throw bad('authorization_details must be the RFC 9396 JSON array an agent sends to /token');
}

export function createExplainHandler(deps: ExplainRequestDeps) {
  return async function explain(body: Record<string, unknown>): Promise<ExplainTrace | { verdict: 'denied'; reason: string; error: string; description: string; token_minted: false }> {
    if (typeof body.agent !== 'string') throw bad('agent is required');
    if (typeof body.tool !== 'string') throw bad('tool is required (an id or a resource URI)');
    const agent = deps.agents().agents.get(body.agent);
    if (!agent) throw new GuardrailAdminError(404, 'unknown_agent', 'no such agent');
    const catalog = deps.catalog();
    const canonical = canonicalResource(body.tool);
    const tool = catalog.tools.get(body.tool) ?? (canonical !== undefined ? catalog.byResource.get(canonical) : undefined);
    if (!tool) throw new GuardrailAdminError(404, 'unknown_tool', 'no such tool');
    const scopes = scopesOf(body.scope ?? body.scopes, 'scope');
    const nowMs = deps.now();

    let subject: SubjectClaims;
    if (typeof body.subject_token === 'string') {
      const verified = await deps.verifier.verifySubject(body.subject_token, nowMs);
      // The user's token would be refused at /token: that is the whole explanation.
      if (isDenial(verified)) return { verdict: 'denied', reason: verified.reason, error: verified.error, description: verified.description, token_minted: false };
      subject = verified;
    } else if (typeof body.claims === 'object' && body.claims !== null) {
      const c = body.claims as Record<string, unknown>;
      if (typeof c.iss !== 'string' || typeof c.sub !== 'string') throw bad('claims needs iss and sub');
      if (c.exp !== undefined && typeof c.exp !== 'number') throw bad('claims.exp must be seconds since the epoch');
      subject = {
        iss: c.iss, sub: c.sub, exp: typeof c.exp === 'number' ? c.exp : Math.floor(nowMs / 1000) + 3600,
        scopes: scopesOf(c.scope ?? c.scp, 'claims.scope'), fingerprint: 'dry-run',
      };
    } else {
      throw bad('subject_token or claims is required');
    }
    return explainExchange(deps, {
      agent, tool, scopes, subject, ...(body.authorization_details !== undefined ? { rawDetails: rawDetailsOf(body.authorization_details) } : {}), nowMs, override: await deps.agentOverride(agent.clientId),
    });
  };
}
