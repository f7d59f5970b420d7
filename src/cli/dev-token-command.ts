/** `broker dev-token --user alice`: prints a user access token from the development identity provider. */
import * as oidc from 'openid-client';
import { DEV_TOKEN_CLIENT_ID, DEV_USER_TOKEN_GRANT } from '../dev/dev-identity-provider.js';

export async function fetchDevToken(idpIssuer: string, username: string): Promise<string> {
  const server = new URL(idpIssuer);
  const config = await oidc.discovery(server, DEV_TOKEN_CLIENT_ID, undefined, oidc.None(), {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- plain http only on loopback (development and tests)
    execute: [oidc.allowInsecureRequests],
    timeout: 5,
  });
  const response = await oidc.genericGrantRequest(config, DEV_USER_TOKEN_GRANT, { username });
  return response.access_token;
}
