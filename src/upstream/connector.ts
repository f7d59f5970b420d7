/**
 * The contract between the onward exchange (a tool asking the broker for the user's credential at a SaaS)
 * and the connectors that obtain it (`token_exchange`, `jwt_bearer`, `vault`). A connector is the edge: it
 * talks to one SaaS authorization server; what it returns is handed to the tool only, never to the agent.
 */

/** The user, as the broker token that reached the tool names them. */
export interface UpstreamUser {
  /** The broker token's `sub` (the user at the trusted identity provider). */
  readonly sub: string;
  /** The claim the catalog names to identify the user at the SaaS (`sub`, `email`, `upn`...), resolved. */
  readonly upstreamSubject: string;
  /** The issuer of the user's original token. */
  readonly issuer: string;
}

export interface UpstreamRequest {
  readonly user: UpstreamUser;
  /** The catalog tool whose upstream this is. */
  readonly tool: string;
  /** The SaaS scopes derived from the broker token's granted scopes through the catalog mapping (never wider). */
  readonly upstreamScopes: readonly string[];
  /** The broker token's `jti`: the onward record links to it. */
  readonly brokerTokenJti: string;
  readonly nowMs: number;
  /**
   * The agent whose exchange led here (the broker token's `client_id`). The vault remembers which agents
   * used a connection, so revoking an agent deletes the connections it used.
   */
  readonly agent?: string;
}

/** A credential the SaaS issued for that user. Never logged or recorded: fingerprints only. */
export interface UpstreamCredential {
  readonly accessToken: string;
  readonly tokenType: string;
  /** Epoch milliseconds. */
  readonly expiresAtMs: number;
  /** What the SaaS granted (it may grant less than asked; never more is passed on). */
  readonly scopes: readonly string[];
}

/**
 * Why no credential: each maps to a registered denial reason of the onward exchange.
 * - `not_connected`: the user has not connected this SaaS (vault); `connectUrl` says where to.
 * - `refused`: the SaaS refused (the user lacks the permission there): passed on, never retried otherwise.
 * - `unavailable`: the SaaS authorization server is unreachable or answered nonsense within the bound (fail closed).
 */
export type UpstreamFailure =
  | { readonly failure: 'not_connected'; readonly connectUrl: string }
  | { readonly failure: 'refused'; readonly error: string; readonly description?: string }
  | { readonly failure: 'unavailable'; readonly description: string };

export type UpstreamResult = UpstreamCredential | UpstreamFailure;

export function isUpstreamFailure(result: UpstreamResult): result is UpstreamFailure {
  return 'failure' in result;
}

export interface UpstreamConnector {
  readonly kind: 'token_exchange' | 'jwt_bearer' | 'vault';
  obtain(request: UpstreamRequest, signal?: AbortSignal): Promise<UpstreamResult>;
}
