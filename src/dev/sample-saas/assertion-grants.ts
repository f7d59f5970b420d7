/**
 * DEVELOPMENT SAMPLE. The two assertion grants of the sample SaaS authorization server, both trusting only
 * assertions the broker signs (the broker's JWKS, its issuer identifier, this server as audience):
 * - RFC 7523 §2.1 `jwt-bearer`: `assertion` = a JWT whose `sub` is the user here.
 * - RFC 8693 token exchange: `subject_token` = the same kind of JWT, `subject_token_type` = `...:token-type:jwt`
 *   (the identity-chaining pattern: a short-lived assertion the broker signs for this audience).
 * A broker access token (`typ: at+jwt`, audience a tool) is never accepted: the `typ` and `aud` differ.
 */
import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { errors, type Provider, type TokenEndpointGrantContext } from '../../provider/oidc-provider.js';
import { findSaasUser, grantableScopes, type SaasUser } from './saas-users.js';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** The header `typ` of the assertions the broker signs for an upstream (never `at+jwt`). */
export const UPSTREAM_ASSERTION_TYP = 'JWT';
/** Assertions older than this are refused whatever their `exp` says (RFC 7523 §3 lets the server bound it). */
const MAX_ASSERTION_AGE_SECONDS = 300;

export interface AssertionTrust {
  readonly brokerIssuer: string;
  readonly brokerJwksUrl: string;
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly apiResource: string;
  readonly users: readonly SaasUser[];
  readonly resourceServerInfo: { readonly scope: string; readonly audience: string; readonly accessTokenTTL: number; readonly accessTokenFormat: 'jwt'; readonly jwt: { readonly sign: { readonly alg: 'ES256' } } };
}

/** Seen assertion ids until they expire: each assertion is usable once (RFC 7523 §3, item 7). */
class SeenIds {
  readonly #seen = new Map<string, number>();
  firstUse(jti: string, expSeconds: number, nowMs: number): boolean {
    for (const [id, exp] of this.#seen) if (exp * 1000 <= nowMs) this.#seen.delete(id);
    if (this.#seen.has(jti)) return false;
    this.#seen.set(jti, expSeconds);
    return true;
  }
}

async function verifyAssertion(trust: AssertionTrust, keys: ReturnType<typeof createRemoteJWKSet>, jwt: string): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(jwt, keys, {
      issuer: trust.brokerIssuer,
      audience: [trust.issuer, trust.tokenEndpoint],
      algorithms: ['ES256'],
      typ: UPSTREAM_ASSERTION_TYP,
      requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      maxTokenAge: MAX_ASSERTION_AGE_SECONDS,
      clockTolerance: 5,
    });
    return payload;
  } catch (error) {
    if (error instanceof joseErrors.JOSEError) {
      const e = new errors.InvalidGrant();
      e.error_description = `assertion rejected (${error.code})`;
      throw e;
    }
    throw error;
  }
}

function refuse(description: string): never {
  const e = new errors.InvalidGrant();
  e.error_description = description;
  throw e;
}

export function registerAssertionGrants(provider: Provider, trust: AssertionTrust): void {
  const keys = createRemoteJWKSet(new URL(trust.brokerJwksUrl), { timeoutDuration: 2000, cooldownDuration: 0 });
  const seen = new SeenIds();

  const issue = async (ctx: TokenEndpointGrantContext, jwt: string, gty: string): Promise<{ value: string; expiresIn: number; scope: string }> => {
    const payload = await verifyAssertion(trust, keys, jwt);
    const client = ctx.oidc.client;
    // ID-JAG shape: when the assertion names the client it was made for, it must be this one.
    if (payload.client_id !== undefined && payload.client_id !== client.clientId) refuse('assertion was made for another client');
    if (!seen.firstUse(String(payload.jti), payload.exp ?? 0, Date.now())) refuse('assertion already used');
    const user = findSaasUser(trust.users, String(payload.sub));
    if (!user) refuse('no such user at this service');
    const requested = typeof ctx.oidc.params.scope === 'string' ? ctx.oidc.params.scope.split(' ').filter(Boolean) : [];
    const granted = grantableScopes(user, requested);
    if (granted.length === 0) throw new errors.InvalidScope(`${user.id} holds none of the requested scopes here`, requested.join(' '));
    const token = new ctx.oidc.provider.AccessToken({
      accountId: user.id,
      client,
      scope: granted.join(' '),
      gty,
      grantId: randomUUID(),
      resourceServer: new ctx.oidc.provider.ResourceServer(trust.apiResource, trust.resourceServerInfo),
    });
    const value = await token.save();
    return { value, expiresIn: token.expiration, scope: granted.join(' ') };
  };

  provider.registerGrantType(JWT_BEARER_GRANT, async (ctx: TokenEndpointGrantContext) => {
    const assertion = ctx.oidc.params.assertion;
    if (typeof assertion !== 'string' || assertion === '') throw new errors.InvalidRequest('missing assertion');
    const t = await issue(ctx, assertion, 'jwt-bearer');
    ctx.body = { access_token: t.value, token_type: 'Bearer', expires_in: t.expiresIn, scope: t.scope };
  }, ['assertion', 'scope']);

  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, async (ctx: TokenEndpointGrantContext) => {
    const { subject_token: subjectToken, subject_token_type: subjectTokenType, requested_token_type: requested } = ctx.oidc.params;
    if (typeof subjectToken !== 'string' || subjectToken === '') throw new errors.InvalidRequest('missing subject_token');
    if (subjectTokenType !== JWT_TOKEN_TYPE) throw new errors.InvalidRequest('unsupported subject_token_type');
    if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('unsupported requested_token_type');
    const t = await issue(ctx, subjectToken, 'token-exchange');
    ctx.body = { access_token: t.value, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: t.expiresIn, scope: t.scope };
  }, ['subject_token', 'subject_token_type', 'requested_token_type', 'scope', 'audience']);
}
