/**
 * Requests oidc-provider refuses before the grant handler runs (client authentication, duplicated
 * parameters, unsupported grant types, scope syntax): the stable reason for the attribution record, and
 * the two places where the broker's contract is stricter than the library's default answer.
 */
import type { DenialReason } from '../exchange/reasons.js';

export interface ProviderErrorInfo { readonly error: string; readonly description?: string; readonly detail?: string }

const NO_CLIENT_AUTH = 'no client authentication mechanism provided';
const TWO_CLIENT_AUTH = 'client authentication must only be provided using one mechanism';
/** oidc-provider's answer when it cannot even decode a client assertion (it is then `invalid_request`). */
const UNDECODABLE_ASSERTION = 'invalid client_assertion format';

export function providerDenialReason(e: ProviderErrorInfo | undefined): DenialReason {
  switch (e?.error) {
    case 'invalid_client':
      return e.detail === 'client not found' ? 'agent_unknown' : 'client_authentication_failed';
    case 'unsupported_grant_type':
      return 'unsupported_grant_type';
    case 'unauthorized_client':
      return 'agent_not_allowed_grant';
    case 'invalid_scope':
      return 'scope_syntax';
    case 'temporarily_unavailable':
      // The agent-secret guards (src/auth/agent-secret-guard.ts): throttled (429) or hash gate full (503).
      if (e.detail === 'client_authentication_throttled' || e.detail === 'client_authentication_busy') return e.detail;
      return 'internal_error';
    case 'invalid_request':
      if (e.description === NO_CLIENT_AUTH) return 'client_authentication_missing';
      if (e.description === TWO_CLIENT_AUTH) return 'client_authentication_ambiguous';
      if (e.description === UNDECODABLE_ASSERTION) return 'client_authentication_failed';
      return 'request_malformed';
    default:
      return 'internal_error';
  }
}

const CLIENT_AUTH_FAILURES: ReadonlySet<DenialReason> = new Set([
  'agent_unknown', 'client_authentication_failed', 'client_authentication_missing', 'client_authentication_ambiguous',
  'client_authentication_throttled', 'client_authentication_busy',
]);

/**
 * Whether oidc-provider had authenticated the client before it refused the request: it identifies the
 * client (ctx.oidc.client) before checking its credentials, and every later refusal happens after
 * authentication succeeded.
 */
export function clientWasAuthenticated(clientIdentified: boolean, reason: DenialReason): boolean {
  return clientIdentified && !CLIENT_AUTH_FAILURES.has(reason);
}

/**
 * RFC 8693 §2.1 / RFC 9700: a token request without client authentication is `invalid_client` (401),
 * where oidc-provider answers `invalid_request`.
 */
export function overrideForMissingClientAuth(reason: DenialReason, e?: ProviderErrorInfo): { status: number; body: { error: string; error_description: string } } | undefined {
  // RFC 7523 §3.2: a client assertion that is not a valid JWT is `invalid_client`, like any failed assertion.
  if (reason === 'client_authentication_failed' && e?.error === 'invalid_request') {
    return { status: 401, body: { error: 'invalid_client', error_description: 'the client_assertion is not a well-formed signed JWT' } };
  }
  if (reason !== 'client_authentication_missing') return undefined;
  return { status: 401, body: { error: 'invalid_client', error_description: 'client authentication is required' } };
}
