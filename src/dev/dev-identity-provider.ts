/**
 * DEVELOPMENT ONLY. A real oidc-provider instance standing in for the corporate identity provider, so the
 * embedded default works with nothing else installed. It issues signed JWT access tokens (`typ: at+jwt`)
 * for the demo users, with the broker as audience, through one dev-only grant that needs no browser:
 *   POST /token  grant_type=urn:agent-token-broker:dev:user-token  client_id=dev-token-cli  username=alice
 * and, for people signing in to the broker console, the authorization code flow with PKCE (OIDC Core §3.1,
 * RFC 7636) and a login page for the demo users (dev-login.ts); the ID token carries their console roles
 * in the `broker_roles` claim.
 * The broker only starts it in development mode, which is bound to loopback addresses (see the config
 * loader): a production configuration has no way to enable it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { devIdpAdapter } from './dev-idp-adapter.js';
import { errors, Provider, type ErrorOut, type KoaContextWithOIDC, type TokenEndpointGrantContext } from '../provider/oidc-provider.js';
import { DEMO_USERS, type DemoUser } from './demo-users.js';
import { devLoginRoutes, INTERACTION_PREFIX } from './dev-login.js';

export const DEV_USER_TOKEN_GRANT = 'urn:agent-token-broker:dev:user-token';
export const DEV_TOKEN_CLIENT_ID = 'dev-token-cli';
/** The broker console's client at the development identity provider (public client: PKCE). */
export const DEV_CONSOLE_CLIENT_ID = 'broker-console';
/** The ID token claim carrying the demo users' console roles. */
export const DEV_ROLES_CLAIM = 'broker_roles';

export interface DevIdentityProviderOptions {
  readonly issuer: string;
  /** The audience of the user tokens: the broker's issuer identifier. */
  readonly audience: string;
  readonly users?: readonly DemoUser[];
  readonly tokenTtlSeconds?: number;
  /** Redirect URIs of the broker's sign-in (`<broker>/signin/callback`): registers the console client. */
  readonly signInRedirectUris?: readonly string[];
}

function renderJsonError(ctx: KoaContextWithOIDC, out: ErrorOut): void {
  ctx.type = 'application/json';
  ctx.body = out;
}

export async function createDevIdentityProvider(opts: DevIdentityProviderOptions): Promise<Provider> {
  const users = new Map((opts.users ?? DEMO_USERS).map((u) => [u.username, u]));
  const allScopes = [...new Set([...users.values()].flatMap((u) => u.scopes))].join(' ');
  const ttl = opts.tokenTtlSeconds ?? 3600;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signingJwk = { ...(await exportJWK(privateKey)), kid: 'dev-idp-es256', alg: 'ES256', use: 'sig' };
  const resourceServerInfo = {
    scope: allScopes,
    audience: opts.audience,
    accessTokenTTL: ttl,
    accessTokenFormat: 'jwt' as const,
    jwt: { sign: { alg: 'ES256' as const } },
  };

  const signInClients = opts.signInRedirectUris && opts.signInRedirectUris.length > 0
    ? [{
        client_id: DEV_CONSOLE_CLIENT_ID,
        token_endpoint_auth_method: 'none' as const,
        grant_types: ['authorization_code'],
        response_types: ['code' as const],
        redirect_uris: [...opts.signInRedirectUris],
        // RP-initiated logout (src/sign-in/sign-in.ts): back to the broker's "signed out" page.
        post_logout_redirect_uris: opts.signInRedirectUris.map((uri) => uri.replace(/\/signin\/callback$/u, '/signin/signed-out')),
      }]
    : [];
  const provider = new Provider(opts.issuer, {
    adapter: devIdpAdapter(),
    clients: [{
      client_id: DEV_TOKEN_CLIENT_ID,
      token_endpoint_auth_method: 'none',
      grant_types: [DEV_USER_TOKEN_GRANT],
      response_types: [],
      redirect_uris: [],
    }, ...signInClients],
    jwks: { keys: [signingJwk] },
    responseTypes: ['code', 'none'],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // Without userinfo, the ID token itself carries the profile and roles claims.
    conformIdTokenClaims: false,
    claims: { openid: ['sub'], email: ['email'], profile: ['name', DEV_ROLES_CLAIM] },
    findAccount: (_ctx, id) => {
      const user = [...users.values()].find((u) => u.sub === id);
      if (!user) return undefined;
      return {
        accountId: user.sub,
        claims: () => ({ sub: user.sub, email: user.email, name: user.name ?? user.username, [DEV_ROLES_CLAIM]: [...(user.roles ?? [])] }),
      };
    },
    interactions: { url: (_ctx, interaction) => `${INTERACTION_PREFIX}${interaction.uid}` },
    // The broker console is a first-party client of this provider: its consent is implied.
    loadExistingGrant: async (ctx) => {
      const clientId = ctx.oidc.client?.clientId;
      const accountId = ctx.oidc.session?.accountId;
      if (clientId === undefined || accountId === undefined) return undefined;
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(clientId);
      if (grantId !== undefined) return ctx.oidc.provider.Grant.find(grantId);
      if (clientId !== DEV_CONSOLE_CLIENT_ID) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId, accountId });
      grant.addOIDCScope('openid profile email');
      await grant.save();
      return grant;
    },
    ttl: { AccessToken: ttl, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 8 * 3600, Grant: 8 * 3600 },
    // Only ES256 keys exist; oidc-provider's client default (RS256) would not validate.
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    scopes: [...allScopes.split(' ')],
    features: {
      devInteractions: { enabled: false },
      // The broker's sign-out ends the session here too (OpenID Connect RP-Initiated Logout 1.0); a plain
      // confirmation page of its own (the library's default page loads a web font from a CDN).
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.type = 'html';
          ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Sign out</title></head><body><main><h1>Sign out of the development identity provider?</h1>${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button> <button type="submit" form="op.logoutForm">Stay signed in</button></main></body></html>`;
        },
      },
      pushedAuthorizationRequests: { enabled: false },
      userinfo: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // Only the dev grant's user tokens are for the broker; sign-in needs just the ID token.
        defaultResource: (_ctx, client) => (client.clientId === DEV_TOKEN_CLIENT_ID ? opts.audience : undefined),
        getResourceServerInfo: () => resourceServerInfo,
      },
    },
    renderError: renderJsonError,
  });

  provider.registerGrantType(DEV_USER_TOKEN_GRANT, async (ctx: TokenEndpointGrantContext) => {
    const username = ctx.oidc.params.username;
    const user = typeof username === 'string' ? users.get(username) : undefined;
    if (!user) throw new errors.InvalidRequest('unknown demo user');
    const token = new ctx.oidc.provider.AccessToken({
      accountId: user.sub,
      client: ctx.oidc.client,
      scope: user.scopes.join(' '),
      gty: DEV_USER_TOKEN_GRANT,
      grantId: randomUUID(),
      extra: { email: user.email },
      resourceServer: new ctx.oidc.provider.ResourceServer(opts.audience, resourceServerInfo),
    });
    const value = await token.save();
    ctx.body = { access_token: value, token_type: 'Bearer', expires_in: token.expiration, scope: token.scope };
  }, ['username']);

  provider.use(devLoginRoutes(provider, users));
  return provider;
}
