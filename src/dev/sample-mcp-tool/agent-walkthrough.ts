/**
 * DEVELOPMENT WALKTHROUGH (issue 17), run against `npm start`:  npx tsx src/dev/sample-mcp-tool/agent-walkthrough.ts
 * An agent, as an MCP client of the official SDK, gets a broker token for the sample accounts tool through our
 * agent SDK (the demo agent, for alice and then bob), and calls the tool's MCP tools. The tool obtains each
 * user's own credential at the sample SaaS; the SaaS applies its own rules. Overrides: BROKER_URL, DEV_IDP_URL,
 * MCP_TOOL_URL (defaults: the development default's ports 9400, 9401, 9404).
 *
 * With the argument `connected-accounts`: the same calls for alice at the sample `vault` tool (MCP server on
 * 9405, CONNECTED_TOOL_URL): refused with the connect URL until alice has connected the SaaS at
 * <broker>/connect/connected-accounts, then served with her own credential from the vault.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { fetchDevToken } from '../../cli/dev-token-command.js';
import { AgentClient } from '../../sdk/agent/index.js';

const broker = process.env.BROKER_URL ?? 'http://localhost:9400';
const idp = process.env.DEV_IDP_URL ?? 'http://localhost:9401';
const connected = process.argv[2] === 'connected-accounts';
const toolUrl = connected ? `${process.env.CONNECTED_TOOL_URL ?? 'http://localhost:9405'}/mcp` : `${process.env.MCP_TOOL_URL ?? 'http://localhost:9404'}/mcp`;
const RESOURCE = connected ? 'https://connected-accounts.example.internal/mcp' : 'https://accounts.example.internal/mcp';

async function call(agent: AgentClient, user: string, scope: string, name: string, args: Record<string, string>): Promise<string> {
  const token = await agent.getToken({ subjectToken: await fetchDevToken(idp, user), tool: RESOURCE, scope });
  const client = new Client({ name: 'walkthrough-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(toolUrl), { requestInit: { headers: await token.headers('POST', toolUrl) } }));
  try {
    const result = await client.callTool({ name, arguments: args });
    const content = result.content as { text?: string }[];
    return `${result.isError === true ? 'REFUSED' : 'ok     '} ${content.map((c) => c.text ?? '').join('')}`;
  } finally {
    await client.close();
  }
}

const agent = await AgentClient.create({ issuer: broker, clientId: 'demo-agent', auth: { clientSecret: 'demo-agent-secret' }, allowInsecureLoopback: true });
const steps: [string, string, string, Record<string, string>][] = connected ? [
  ['alice', 'accounts.read accounts.write', 'read_account', { account: 'A' }],
  ['alice', 'accounts.read accounts.write', 'read_account', { account: 'B' }],
] : [
  ['alice', 'accounts.read accounts.write', 'read_account', { account: 'A' }],
  ['alice', 'accounts.read accounts.write', 'read_account', { account: 'B' }],
  ['alice', 'accounts.read accounts.write', 'update_account', { account: 'A', note: 'called back' }],
  ['bob', 'accounts.read', 'read_account', { account: 'B' }],
  ['bob', 'accounts.read', 'update_account', { account: 'A', note: 'not allowed' }],
];
for (const [user, scope, name, args] of steps) {
  process.stdout.write(`${user.padEnd(6)} ${name}(${JSON.stringify(args)}): ${await call(agent, user, scope, name, args)}\n`);
}
