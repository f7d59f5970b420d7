/**
 * The two connectors that need nothing from the user beforehand, both presenting an assertion the broker
 * signs for the user (assertion.ts):
 * - `jwt_bearer`: RFC 7523 §2.1 (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, `assertion`).
 * - `token_exchange`: RFC 8693 §2.1 at the SaaS (`subject_token` = the assertion,
 *   `subject_token_type=urn:ietf:params:oauth:token-type:jwt`): the identity-chaining pattern.
 */
import type { SigningKey } from '../../keys/signing-keys.js';
import { type UpstreamConnector, type UpstreamRequest, type UpstreamResult } from '../connector.js';
import type { ToolUpstream } from '../upstream-config.js';
import { signUpstreamAssertion } from './assertion.js';
import { endpointResolver, requestUpstreamToken, type ClientAuthenticator } from './upstream-server.js';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface AssertionConnectorDeps {
  readonly upstream: ToolUpstream;
  readonly brokerIssuer: string;
  readonly signingKey: () => SigningKey;
  readonly authenticate: ClientAuthenticator;
  /** Bound on each call to the SaaS (discovery, token request). */
  readonly timeoutMs: number;
}

export function createAssertionConnector(kind: 'jwt_bearer' | 'token_exchange', deps: AssertionConnectorDeps): UpstreamConnector {
  const endpoints = endpointResolver(deps.upstream, deps.timeoutMs);
  return {
    kind,
    async obtain(request: UpstreamRequest, signal?: AbortSignal): Promise<UpstreamResult> {
      const resolved = await endpoints();
      if ('failure' in resolved) return resolved;
      const assertion = await signUpstreamAssertion({ brokerIssuer: deps.brokerIssuer, key: deps.signingKey(), upstream: deps.upstream, request });
      const scope = request.upstreamScopes.join(' ');
      const form: Record<string, string> = kind === 'jwt_bearer'
        ? { grant_type: JWT_BEARER_GRANT, assertion, scope }
        : { grant_type: TOKEN_EXCHANGE_GRANT, subject_token: assertion, subject_token_type: JWT_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE, scope };
      return requestUpstreamToken({
        endpoints: resolved, authenticate: deps.authenticate, form, requestedScopes: request.upstreamScopes,
        timeoutMs: deps.timeoutMs, nowMs: request.nowMs, ...(signal ? { signal } : {}),
      });
    },
  };
}
