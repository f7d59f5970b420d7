/**
 * DEVELOPMENT SAMPLE: a SaaS with its own authorization server, standing in for the CRM / billing / ticketing
 * services a tool sits in front of. Never part of a production broker.
 *
 * How to start it (in a test or the dev default):
 *   const saas = await startSampleSaas({
 *     brokerIssuer: broker.issuer,                 // assertions must carry this `iss`
 *     brokerJwksUrl: `${broker.issuer}/jwks`,      // ...and be signed by one of these keys
 *     clients: [saasClient({ clientId: 'token-broker', secret: 'dev-saas-secret', redirectUris: [...] })],
 *   });
 *   saas.issuer          http://127.0.0.1:<port>  (discovery: /.well-known/openid-configuration)
 *   saas.apiResource     `${issuer}/api`          (the audience of its access tokens)
 *   await saas.close();
 * Options: `host`/`port` (127.0.0.1:0), `publicHost` (the issuer's host name, default `host`), `users` (default SAAS_USERS), `accessTokenTtlSeconds` (600).
 * Users (saas-users.ts): alice / alice-saas (accounts:read + accounts:write; account A only),
 *   bob / bob-saas (accounts:read only; accounts A and B). Anyone else is unknown here (`invalid_grant`).
 * Clients: whatever `clients` lists (saasClient builds one: private_key_jwt with `jwks`, or client_secret_basic
 *   with `secret`; grants: authorization_code + refresh_token when it has redirect URIs, jwt-bearer, token-exchange).
 * Grants: authorization code + PKCE (S256, required) through /interaction login and consent pages, refresh
 *   tokens on every code (rotated on each use), RFC 7523 jwt-bearer and RFC 8693 token exchange of assertions
 *   the broker signs (assertion-grants.ts); RFC 7009 revocation at /token/revocation.
 * API: GET /api/accounts/:id (accounts:read), POST /api/accounts/:id (accounts:write); its own tokens only.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK } from 'jose';
import { errors, Provider, type ClientMetadata, type ErrorOut, type KoaContextWithOIDC } from '../../provider/oidc-provider.js';
import { close, listen, serve } from '../../server/listen.js';
import { JWT_BEARER_GRANT, registerAssertionGrants, TOKEN_EXCHANGE_GRANT } from './assertion-grants.js';
import { interactionRoutes } from './interactions.js';
import { saasApiRoutes } from './saas-api.js';
import { saasMemoryAdapter } from './saas-store.js';
import { SAAS_SCOPES, SAAS_USERS, type SaasUser } from './saas-users.js';

export interface SampleSaasOptions {
  readonly brokerIssuer: string;
  readonly brokerJwksUrl: string;
  readonly clients: readonly ClientMetadata[];
  readonly users?: readonly SaasUser[];
  readonly host?: string;
  readonly port?: number;
  /** The host name in its issuer identifier (default `host`), e.g. `localhost` while listening on 127.0.0.1. */
  readonly publicHost?: string;
  readonly accessTokenTtlSeconds?: number;
}

export interface SampleSaas {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly apiResource: string;
  readonly provider: Provider;
  close(): Promise<void>;
}

/** The broker's client registration at the sample SaaS. */
export function saasClient(opts: { clientId: string; jwks?: { keys: JWK[] }; secret?: string; redirectUris?: readonly string[] }): ClientMetadata {
  const redirectUris = [...(opts.redirectUris ?? [])];
  const grantTypes = [JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT, ...(redirectUris.length > 0 ? ['authorization_code', 'refresh_token'] : [])];
  const auth: Omit<ClientMetadata, 'client_id'> = opts.jwks
    ? { token_endpoint_auth_method: 'private_key_jwt', jwks: opts.jwks, token_endpoint_auth_signing_alg: 'ES256' }
    : { token_endpoint_auth_method: 'client_secret_basic', client_secret: opts.secret ?? '' };
  return { client_id: opts.clientId, ...auth, grant_types: grantTypes, redirect_uris: redirectUris, response_types: redirectUris.length > 0 ? ['code'] : [] };
}

function renderJsonError(ctx: KoaContextWithOIDC, out: ErrorOut): void {
  ctx.type = 'application/json';
  ctx.body = out;
}

export async function startSampleSaas(opts: SampleSaasOptions): Promise<SampleSaas> {
  const users = opts.users ?? SAAS_USERS;
  const { server, port } = await listen(undefined, opts.host ?? '127.0.0.1', opts.port ?? 0);
  const issuer = `http://${opts.publicHost ?? opts.host ?? '127.0.0.1'}:${String(port)}`;
  const apiResource = `${issuer}/api`;
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = 'sample-saas-es256';
  const signingJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  const publicJwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };
  const resourceServerInfo = {
    scope: SAAS_SCOPES.join(' '),
    audience: apiResource,
    accessTokenTTL: opts.accessTokenTtlSeconds ?? 600,
    accessTokenFormat: 'jwt' as const,
    jwt: { sign: { alg: 'ES256' as const } },
  };
  const byId = new Map(users.map((u) => [u.id, u]));

  const provider = new Provider(issuer, {
    adapter: saasMemoryAdapter(),
    clients: [...opts.clients],
    jwks: { keys: [signingJwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount: (_ctx, id) => (byId.has(id) ? { accountId: id, claims: () => ({ sub: id }) } : undefined),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access'],
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    clientAuthMethods: ['private_key_jwt', 'client_secret_basic'],
    pkce: { required: () => true },
    ttl: { AccessToken: resourceServerInfo.accessTokenTTL, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 14 * 86400, RefreshToken: 14 * 86400 },
    // Every code yields a refresh token (the consent is the offline grant here); every use rotates it.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    clientBasedCORS: () => false,
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: false },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => apiResource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== apiResource) throw new errors.InvalidTarget();
          return resourceServerInfo;
        },
      },
    },
    renderError: renderJsonError,
  });
  const tokenEndpoint = `${issuer}/token`;
  registerAssertionGrants(provider, { brokerIssuer: opts.brokerIssuer, brokerJwksUrl: opts.brokerJwksUrl, issuer, tokenEndpoint, apiResource, users, resourceServerInfo });
  provider.use(interactionRoutes(provider, users).routes());
  provider.use(saasApiRoutes({ issuer, apiResource, users, keys: createLocalJWKSet(publicJwks) }).routes());
  serve(server, provider.callback());
  return { issuer, tokenEndpoint, apiResource, provider, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  return close(server, 500);
}
