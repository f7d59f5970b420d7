/**
 * DEVELOPMENT SAMPLE. The tool's side of the onward exchange: as its registered tool identity it presents the
 * broker token it received (RFC 8693 `subject_token`) and names its upstream (`resource`), with openid-client.
 * The credential it gets back is the user's at the SaaS; it stays in this process, never goes to the agent.
 */
import * as oidc from 'openid-client';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface OnwardClient {
  /** The user's credential at the upstream, or the broker's OAuth error. */
  credential(brokerToken: string, scope: string): Promise<{ accessToken: string; scope: string } | { error: string; description: string; status: number }>;
}

export async function createOnwardClient(opts: { brokerIssuer: string; clientId: string; clientSecret: string; upstreamResource: string }): Promise<OnwardClient> {
  const server = new URL(opts.brokerIssuer);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(server.hostname);
  const config = await oidc.discovery(server, opts.clientId, undefined, oidc.ClientSecretBasic(opts.clientSecret), {
    algorithm: 'oauth2',
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- plain http only for a loopback broker (the development sample)
    ...(loopback && server.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}),
  });
  return {
    async credential(brokerToken, scope) {
      try {
        const res = await oidc.genericGrantRequest(config, TOKEN_EXCHANGE_GRANT, {
          subject_token: brokerToken, subject_token_type: ACCESS_TOKEN_TYPE, resource: opts.upstreamResource, scope,
        });
        return { accessToken: res.access_token, scope: typeof res.scope === 'string' ? res.scope : scope };
      } catch (err) {
        if (err instanceof oidc.ResponseBodyError) return { error: err.error, description: err.error_description ?? '', status: err.status };
        throw err;
      }
    },
  };
}
