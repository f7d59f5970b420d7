/** What the embedded default prints at start: the exact commands for a first exchange, and what to try next. */
import { relative } from 'node:path';
import type { Catalog } from '../domain/catalog.js';

export interface ConsoleLogins {
  /** DEVELOPMENT passwords of the demo users at the development identity provider, and their console roles. */
  readonly users: readonly { readonly username: string; readonly password: string; readonly roles: readonly string[] }[];
}

export function firstExchangeInstructions(opts: { issuer: string; catalog: Catalog; sampleTool?: { url: string }; adminKeyFile?: string; console?: ConsoleLogins; upstreamSamples?: UpstreamSamples }): string {
  const crm = opts.catalog.tools.get('crm');
  const resource = crm?.resource ?? [...opts.catalog.tools.values()][0]?.resource ?? '<tool resource>';
  const scope = crm ? 'crm.accounts.read crm.accounts.write' : '<scopes>';
  const lines = [
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
  ];
  if (opts.sampleTool) {
    lines.push(
      '',
      '  # 3. use it at the sample CRM tool (it checks the token, then its own permissions: alice may see A, not B)',
      '  TOOL_TOKEN=<the access_token from step 2>',
      `  curl -s -H "Authorization: Bearer $TOOL_TOKEN" ${opts.sampleTool.url}/accounts/A`,
      `  curl -s -H "Authorization: Bearer $TOOL_TOKEN" ${opts.sampleTool.url}/accounts/B`,
    );
  }
  if (opts.adminKeyFile) {
    lines.push(
      '',
      '  # 4. pull the kill switch: the agent is refused at once and its live token stops working',
      `  BROKER_URL=${opts.issuer} BROKER_ADMIN_KEY=$(cat ${relative(process.cwd(), opts.adminKeyFile)}) npm run --silent broker -- suspend agent demo-agent --reason "trying the kill switch"`,
    );
  }
  if (opts.console) {
    lines.push(
      '',
      `Console: ${opts.issuer}/console/  (sign in at the development identity provider)`,
      ...opts.console.users.map((u) => `  ${u.username} / ${u.password}  ${u.roles.length > 0 ? u.roles.join(', ') : 'no console role (refused)'}`),
    );
  }
  if (opts.upstreamSamples) lines.push(...upstreamWalkthrough(opts.upstreamSamples));
  lines.push('', `  Discovery: ${opts.issuer}/.well-known/oauth-authorization-server   Keys: ${opts.issuer}/jwks`, '');
  return lines.join('\n');
}

export interface UpstreamSamples {
  readonly saas: { readonly issuer: string };
  readonly mcpTool: { readonly url: string; readonly resource: string };
  readonly vaultTool?: { readonly url: string; readonly tool: string; readonly connectUrl: string };
}

/** Issue 17: an agent calls the sample MCP tool, which obtains the user's own credential at the sample SaaS. */
function upstreamWalkthrough(s: UpstreamSamples): string[] {
  const vault = s.vaultTool ? [
    '',
    `  # the vault: the ${s.vaultTool.tool} tool (${s.vaultTool.url}/mcp) reaches the same SaaS with alice's own consent.`,
    '  # before alice connects, the agent gets the registered error upstream_not_connected with the URL to connect:',
    `  npx tsx src/dev/sample-mcp-tool/agent-walkthrough.ts ${s.vaultTool.tool}`,
    '  # alice connects once in a browser: sign in at the broker (alice / alice-dev-password), then at the SaaS',
    '  # (alice / alice-saas) and allow; the broker keeps her refresh token sealed (GET /connect lists, DELETE disconnects)',
    `  open ${s.vaultTool.connectUrl}`,
    '  # after connecting: the same call is served with her credential from the vault (A yes, B refused by the SaaS)',
    `  npx tsx src/dev/sample-mcp-tool/agent-walkthrough.ts ${s.vaultTool.tool}`,
  ] : [];
  return [
    '',
    'Calling SaaS on the user\'s behalf (an MCP tool in front of a SaaS that keeps its own permissions):',
    `  # sample SaaS (its own authorization server and API): ${s.saas.issuer}   sample MCP tool: ${s.mcpTool.url}/mcp`,
    '  # an MCP client (official SDK) with our agent SDK calls read_account / update_account for alice and for bob;',
    '  # the tool exchanges the broker token for the user\'s own SaaS credential, which the agent never sees',
    '  npx tsx src/dev/sample-mcp-tool/agent-walkthrough.ts',
    ...vault,
  ];
}
