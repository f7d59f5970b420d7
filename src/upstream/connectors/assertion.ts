/**
 * The assertion the broker signs for a SaaS authorization server (RFC 7523 §3 claims): `iss` the broker,
 * `sub` the user as the SaaS names them, `aud` that server, short-lived, single-use `jti`, `client_id` the
 * broker's client there (the ID-JAG shape). Header `typ: JWT`, never `at+jwt`, so it can never pass as a
 * broker access token and a broker access token can never pass as one. Signed with the broker's active key,
 * whose public half the SaaS reads from the broker's JWKS.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SigningKey } from '../../keys/signing-keys.js';
import type { UpstreamRequest } from '../connector.js';
import type { ToolUpstream } from '../upstream-config.js';

export const ASSERTION_LIFETIME_SECONDS = 60;

export function signUpstreamAssertion(opts: { brokerIssuer: string; key: SigningKey; upstream: ToolUpstream; request: UpstreamRequest }): Promise<string> {
  const iat = Math.floor(opts.request.nowMs / 1000);
  return new SignJWT({ client_id: opts.upstream.clientId, scope: opts.request.upstreamScopes.join(' ') })
    .setProtectedHeader({ alg: opts.key.alg, kid: opts.key.kid, typ: 'JWT' })
    .setIssuer(opts.brokerIssuer)
    .setSubject(opts.request.user.upstreamSubject)
    .setAudience(opts.upstream.assertionAudience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_SECONDS)
    .setJti(randomUUID())
    .sign(opts.key.privateKey);
}
