/**
 * Baseline: a minimal oidc-provider 9 with only the `client_credentials` grant, a client_secret_basic client
 * (oidc-provider's own plaintext comparison) and an ES256-signed JWT access token for one resource server.
 */
import { exportJWK, generateKeyPair } from 'jose';
import { isolatedMemoryAdapter } from '../../src/provider/memory-adapter.js';
import { Provider, type ErrorOut, type KoaContextWithOIDC } from '../../src/provider/oidc-provider.js';
import { listen } from '../../src/server/listen.js';
import { announce, BENCH_CLIENT_ID, BENCH_RESOURCE, BENCH_SCOPE, BENCH_SECRET } from '../protocol.js';

const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: 'bench-cc-es256', alg: 'ES256', use: 'sig' };
const resourceServerInfo = {
  scope: BENCH_SCOPE,
  audience: BENCH_RESOURCE,
  accessTokenTTL: 300,
  accessTokenFormat: 'jwt' as const,
  jwt: { sign: { alg: 'ES256' as const } },
};

const { server, port } = await listen(undefined, '127.0.0.1', 0);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  adapter: isolatedMemoryAdapter('bench-cc'),
  clients: [{
    client_id: BENCH_CLIENT_ID,
    client_secret: BENCH_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  }],
  jwks: { keys: [signingJwk] },
  responseTypes: ['none'],
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  scopes: [BENCH_SCOPE],
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: false },
    pushedAuthorizationRequests: { enabled: false },
    userinfo: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => BENCH_RESOURCE,
      getResourceServerInfo: () => resourceServerInfo,
    },
  },
  renderError: (ctx: KoaContextWithOIDC, out: ErrorOut) => {
    ctx.type = 'application/json';
    ctx.body = out;
  },
});
const handler = provider.callback();
server.on('request', (req, res) => { void handler(req, res); });
announce(server, port);
