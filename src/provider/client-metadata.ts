/** Agent identities (clients/*.yaml) as oidc-provider client metadata: token exchange only, nothing else. */
import type { Agent } from '../domain/agent.js';
import { TOKEN_EXCHANGE_GRANT } from '../domain/exchange.js';
import type { ClientMetadata } from './oidc-provider.js';

export function clientMetadata(agent: Agent): ClientMetadata {
  const base: ClientMetadata = {
    client_id: agent.clientId,
    client_name: agent.name,
    contacts: [agent.owner],
    // Every agent is an oidc-provider client of the token-exchange grant whatever its `grant_types` say, and
    // the broker's grant handler refuses an agent whose registration does not list it (agent_not_allowed_grant).
    // oidc-provider would refuse a grant missing from the metadata as `invalid_request` (lib/actions/token.js,
    // allowedGrantTypeCheck), where RFC 6749 §5.2 prescribes `unauthorized_client`; every other grant is off
    // provider-wide (unsupported_grant_type), and the loader accepts no other value in `grant_types`.
    grant_types: [TOKEN_EXCHANGE_GRANT],
    response_types: [],
    redirect_uris: [],
  };
  if (agent.authentication.method === 'private_key_jwt') {
    return {
      ...base,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: agent.authentication.jwks.keys.map((k) => ({ ...k })) },
    };
  }
  // The stored value is the scrypt hash; compareClientSecret is replaced to verify against it.
  return { ...base, token_endpoint_auth_method: 'client_secret_basic', client_secret: agent.authentication.secretHash };
}
