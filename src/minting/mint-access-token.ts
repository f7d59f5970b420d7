/**
 * Mints the per-tool, per-user access token (RFC 9068 profile, `typ: at+jwt`) for a granted exchange:
 * `sub` the user, `act` the agent chain, `aud` the one tool's registered resource, the narrowed `scope`.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Agent } from '../domain/agent.js';
import type { Grant } from '../domain/exchange.js';
import type { SigningKey } from '../keys/signing-keys.js';

export interface MintedToken {
  readonly token: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
}

export async function mintAccessToken(grant: Grant, agent: Agent, issuer: string, key: SigningKey): Promise<MintedToken> {
  const jti = randomBytes(16).toString('base64url');
  const token = await new SignJWT({
    client_id: agent.clientId,
    scope: grant.scopes.granted.join(' '),
    act: grant.act,
    tool: grant.tool.id,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .setIssuer(issuer)
    .setSubject(grant.subject.sub)
    .setAudience(grant.tool.resource)
    .setIssuedAt(grant.iat)
    .setExpirationTime(grant.exp)
    .setJti(jti)
    .sign(key.privateKey);
  return { token, jti, iat: grant.iat, exp: grant.exp };
}
