/** A real oidc-provider upstream identity provider on an ephemeral port, issuing real signed user tokens. */
import { createDevIdentityProvider } from '../../src/dev/dev-identity-provider.js';
import { fetchDevToken } from '../../src/cli/dev-token-command.js';
import { close, listen, serve } from '../../src/server/listen.js';
import type { DemoUser } from '../../src/dev/demo-users.js';

export interface UpstreamIdp {
  readonly issuer: string;
  userToken(username: string): Promise<string>;
  close(): Promise<void>;
}

export async function startUpstreamIdp(opts: { audience: string; users?: readonly DemoUser[]; tokenTtlSeconds?: number }): Promise<UpstreamIdp> {
  // Listen first: the issuer identifier must carry the port.
  const { server, port } = await listen(undefined, '127.0.0.1', 0);
  const issuer = `http://127.0.0.1:${port}`;
  const provider = await createDevIdentityProvider({ issuer, ...opts });
  serve(server, provider.callback());
  return {
    issuer,
    userToken: (username) => fetchDevToken(issuer, username),
    close: () => close(server),
  };
}
