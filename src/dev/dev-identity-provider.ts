/**
 * DEVELOPMENT ONLY. A real oidc-provider instance standing in for the corporate identity provider, so the
 * embedded default works with nothing else installed. It issues signed JWT access tokens (`typ: at+jwt`)
 * for the demo users, with the broker as audience, through one dev-only grant that needs no browser:
 *   POST /token  grant_type=urn:agent-token-broker:dev:user-token  client_id=dev-token-cli  username=alice
 * The broker only starts it in development mode, which is bound to loopback addresses (see the config
 * loader): a production configuration has no way to enable it.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { isolatedMemoryAdapter } from '../provider/memory-adapter.js';
import { errors, Provider, type ErrorOut, type KoaContextWithOIDC, type TokenEndpointGrantContext } from '../provider/oidc-provider.js';
import { DEMO_USERS, type DemoUser } from './demo-users.js';

export const DEV_USER_TOKEN_GRANT = 'urn:agent-token-broker:dev:user-token';
export const DEV_TOKEN_CLIENT_ID = 'dev-token-cli';

export interface DevIdentityProviderOptions {
  readonly issuer: string;
  /** The audience of the user tokens: the broker's issuer identifier. */
  readonly audience: string;
  readonly users?: readonly DemoUser[];
  readonly tokenTtlSeconds?: number;
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

  const provider = new Provider(opts.issuer, {
    adapter: isolatedMemoryAdapter(`dev-idp:${opts.issuer}`),
    clients: [{
      client_id: DEV_TOKEN_CLIENT_ID,
      token_endpoint_auth_method: 'none',
      grant_types: [DEV_USER_TOKEN_GRANT],
      response_types: [],
      redirect_uris: [],
    }],
    jwks: { keys: [signingJwk] },
    responseTypes: ['none'],
    ttl: { AccessToken: ttl },
    // Only ES256 keys exist; oidc-provider's client default (RS256) would not validate.
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    scopes: [...allScopes.split(' ')],
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      userinfo: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => opts.audience,
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

  return provider;
}
