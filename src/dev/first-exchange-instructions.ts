/** What the embedded default prints at start: the exact commands for a first exchange. */
import type { Catalog } from '../domain/catalog.js';

export function firstExchangeInstructions(opts: { issuer: string; catalog: Catalog }): string {
  const crm = opts.catalog.tools.get('crm');
  const resource = crm?.resource ?? [...opts.catalog.tools.values()][0]?.resource ?? '<tool resource>';
  const scope = crm ? 'crm.accounts.read crm.accounts.write' : '<scopes>';
  return [
    '',
    'DEVELOPMENT MODE: loopback only, sample catalog and agent, development identity provider (never for production).',
    '',
    'First exchange:',
    '  # 1. a user token for the demo user alice, from the development identity provider',
    '  USER_TOKEN=$(npm run --silent dev-token -- --user alice)',
    '',
    '  # 2. the demo agent exchanges it for a token for one tool',
    `  curl -s -u demo-agent:demo-agent-secret ${opts.issuer}/token \\`,
    "    -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\",
    '    -d subject_token="$USER_TOKEN" \\',
    "    -d subject_token_type=urn:ietf:params:oauth:token-type:access_token \\",
    `    -d resource=${resource} \\`,
    `    -d scope="${scope}"`,
    '',
    `  Discovery: ${opts.issuer}/.well-known/oauth-authorization-server   Keys: ${opts.issuer}/jwks`,
    '',
  ].join('\n');
}
