/**
 * Mints the per-tool, per-user access token (RFC 9068 profile, `typ: at+jwt`) for a granted exchange:
 * `sub` the user, `act` the agent chain, `aud` the one tool's registered resource, the narrowed `scope`,
 * and, for a sender-constrained (DPoP) token, `cnf.jkt` the thumbprint of the agent's proof key.
 */
import type { Agent } from '../domain/agent.js';
import type { Grant } from '../domain/exchange.js';
import type { SigningKey } from '../keys/signing-keys.js';
import { newTokenId } from './token-id.js';

export interface MintedToken {
  readonly token: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
}

export interface MintOptions {
  /** RFC 9449 §6: binds the token to the DPoP key with this JWK SHA-256 thumbprint. */
  readonly dpopJkt?: string;
  /**
   * Further claims a guardrail adds (issue 18: `authorization_details`, `approval_id`). Written first, so
   * they can never replace a registered claim.
   */
  readonly claims?: Readonly<Record<string, unknown>>;
}

export function mintAccessToken(grant: Grant, agent: Agent, issuer: string, key: SigningKey, opts: MintOptions = {}): MintedToken {
  const jti = newTokenId();
  const token = key.accessTokenSigner.sign({
    ...opts.claims,
    iss: issuer,
    sub: grant.subject.sub,
    aud: grant.tool.resource,
    client_id: agent.clientId,
    scope: grant.scopes.granted.join(' '),
    act: grant.act,
    tool: grant.tool.id,
    ...(opts.dpopJkt !== undefined ? { cnf: { jkt: opts.dpopJkt } } : {}),
    iat: grant.iat,
    exp: grant.exp,
    jti,
  });
  return { token, jti, iat: grant.iat, exp: grant.exp };
}
