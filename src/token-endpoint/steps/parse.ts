/**
 * Step `parse`: the token request's own parameters (RFC 6749 §4.1.3 `grant_type`, RFC 8693 §2.1), read
 * from the form; names no step reads are ignored (RFC 6749 §3.2). In order: a repeated single-valued name,
 * a missing or other grant type (RFC 6749 §5.2 unsupported_grant_type), the scope syntax (§3.3), then the
 * exchange request itself (src/exchange/parse-request.ts, pure).
 */
import type { RequestLimits } from '../../domain/broker-config.js';
import { TOKEN_EXCHANGE_GRANT } from '../../domain/exchange.js';
import { deny, isDenial } from '../../exchange/reasons.js';
import { parseExchangeRequest } from '../../exchange/parse-request.js';
import { defineStep } from '../pipeline/step.js';

/** The RFC 8693 parameters (advertised to oidc-provider for discovery, build-provider.ts). */
export const TOKEN_EXCHANGE_PARAMETERS = [
  'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type',
  'resource', 'audience', 'scope', 'requested_token_type',
  // Issue 18 (approvals): RFC 9396 authorization_details, and the approval id the agent polls with.
  'authorization_details', 'approval_id',
] as const;
/** RFC 8707 allows several `resource` values; the broker accepts exactly one, and says so as invalid_target. */
export const TOKEN_EXCHANGE_REPEATABLE = ['resource', 'audience'] as const;

const REPEATABLE: ReadonlySet<string> = new Set(TOKEN_EXCHANGE_REPEATABLE);
const SINGLE_VALUED = ['grant_type', ...TOKEN_EXCHANGE_PARAMETERS.filter((name) => !REPEATABLE.has(name))];
/** RFC 6749 §3.3 scope-token syntax, checked before the request is read any further. */
const SCOPE_SYNTAX = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/u;

export interface ParseDeps {
  readonly limits: RequestLimits;
}

export const parse = defineStep<ParseDeps, 'form'>('parse', ['form'], (facts, _req, deps) => {
  const { form } = facts;
  const grantType = form.grant_type;
  if (Array.isArray(grantType)) return deny('request_malformed', 'grant_type parameter must not be provided twice');
  if (grantType === undefined || grantType === '') return deny('request_malformed', "missing required parameter 'grant_type'");
  if (grantType !== TOKEN_EXCHANGE_GRANT) return deny('unsupported_grant_type', 'unsupported grant_type requested');
  const repeated = SINGLE_VALUED.filter((name) => Array.isArray(form[name]));
  if (repeated.length > 0) return deny('request_malformed', `${repeated.join(', ')} ${repeated.length > 1 ? 'parameters' : 'parameter'} must not be provided twice`);
  const scope = form.scope;
  if (typeof scope === 'string' && scope !== '' && !SCOPE_SYNTAX.test(scope)) return deny('scope_syntax', 'scope contains invalid characters');
  const request = parseExchangeRequest(form, deps.limits);
  return isDenial(request) ? request : { request };
});
