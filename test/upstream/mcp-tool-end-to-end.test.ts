/**
 * Issue 17 end to end over real HTTP, both assertion connectors: an agent (an MCP client of the official SDK,
 * its broker tokens from our agent SDK) calls the sample MCP tool for alice and for bob; the tool validates the
 * broker token with our validator SDK, performs the onward exchange as its tool identity, and calls the sample
 * SaaS with the user's own credential there. Nothing the agent receives ever holds an upstream credential.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { AgentClient } from '../../src/sdk/agent/index.js';
import { TokenValidator } from '../../src/sdk/validator/index.js';
import { createOnwardClient } from '../../src/dev/sample-mcp-tool/onward-client.js';
import { sampleMcpToolApp } from '../../src/dev/sample-mcp-tool/sample-mcp-tool.js';
import { close, listen } from '../../src/server/listen.js';
import { AGENT_SECRET, JB, startOnwardBed, TOOL_SECRET, TX, type OnwardBed } from '../support/onward-bed.js';

let bed: OnwardBed;
let agent: AgentClient;
const tools: { url: string; server: Server; validator: TokenValidator }[] = [];
/** Every body the agent received from the tool (MCP responses). */
const seenByAgent: string[] = [];

beforeAll(async () => {
  bed = await startOnwardBed();
  agent = await AgentClient.create({ issuer: bed.broker.issuer, clientId: 'assistant', auth: { clientSecret: AGENT_SECRET }, allowInsecureLoopback: true });
  for (const [resource, clientId] of [[JB, 'accounts-jb-tool'], [TX, 'accounts-tx-tool']] as const) {
    // Revocations reach this tool through its onward exchange at the broker (tested below); the feed is tested elsewhere.
    const validator = await TokenValidator.create({ issuer: bed.broker.issuer, resource, revocation: false });
    const onward = await createOnwardClient({ brokerIssuer: bed.broker.issuer, clientId, clientSecret: TOOL_SECRET, upstreamResource: bed.saas.apiResource });
    const app = sampleMcpToolApp({ brokerIssuer: bed.broker.issuer, resource, validator, onward, saasApi: bed.saas.apiResource });
    const { server, port } = await listen(app.callback(), '127.0.0.1', 0);
    tools.push({ url: `http://127.0.0.1:${String(port)}`, server, validator });
  }
});
afterAll(async () => {
  for (const t of tools) { t.validator.close(); await close(t.server, 0); }
  await bed.close();
});

async function callTool(toolUrl: string, resource: string, user: string, scope: string, name: string, args: Record<string, string>): Promise<{ isError: boolean; text: string }> {
  const token = await agent.getToken({ subjectToken: await bed.idp.userToken(user), tool: resource, scope });
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${toolUrl}/mcp`), {
    requestInit: { headers: await token.headers('POST', `${toolUrl}/mcp`) },
    fetch: async (url, init) => {
      const res = await fetch(url, init);
      seenByAgent.push(await res.clone().text());
      return res;
    },
  });
  await client.connect(transport);
  try {
    const result = await client.callTool({ name, arguments: args });
    const content = result.content as { type: string; text?: string }[];
    return { isError: result.isError === true, text: content.map((c) => c.text ?? '').join('') };
  } finally {
    await client.close();
  }
}

describe.each([
  ['jwt_bearer', 0, JB],
  ['token_exchange', 1, TX],
])('agent -> MCP tool -> broker -> SaaS (%s)', (_kind, index, resource) => {
  const url = () => tools[index]?.url ?? '';

  it('alice reads account A but not B', async () => {
    const a = await callTool(url(), resource, 'alice', 'accounts.read', 'read_account', { account: 'A' });
    expect(a).toMatchObject({ isError: false });
    expect(JSON.parse(a.text)).toMatchObject({ id: 'A', read_by: 'alice' });
    const b = await callTool(url(), resource, 'alice', 'accounts.read', 'read_account', { account: 'B' });
    expect(b.isError).toBe(true);
    expect(b.text).toContain('403');
  });

  it('bob reads but cannot write', async () => {
    expect((await callTool(url(), resource, 'bob', 'accounts.read', 'read_account', { account: 'B' })).isError).toBe(false);
    // bob's user token justifies only accounts.read at the broker; the tool refuses the write before any exchange.
    const write = await callTool(url(), resource, 'bob', 'accounts.read', 'update_account', { account: 'A', note: 'x' });
    expect(write.isError).toBe(true);
  });

  it('alice may write A through the tool', async () => {
    const write = await callTool(url(), resource, 'alice', 'accounts.read accounts.write', 'update_account', { account: 'A', note: 'hello' });
    expect(write).toMatchObject({ isError: false });
  });
});

describe('what the agent sees', () => {
  it('no response to the agent ever holds an upstream credential', () => {
    expect(seenByAgent.length).toBeGreaterThan(0);
    const issued = bed.broker.sink.records.flatMap((r) => (r.type === 'token_exchange' && r.onward?.credential_sha256 ? [r.onward.credential_sha256] : []));
    expect(issued.length).toBeGreaterThan(0);
    for (const body of seenByAgent) expect(body).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/u);
  });

  it('revoking the user stops the tool at once: its onward exchange is refused', async () => {
    const nowS = Math.floor(Date.now() / 1000);
    await bed.broker.state.addRevocation({ id: 'user:alice', kind: 'user', value: 'alice', issuedBefore: nowS + 1, expiresAt: nowS + 3600, reason: 'test', by: 'tests', at: nowS });
    const r = await callTool(tools[0]?.url ?? '', JB, 'alice', 'accounts.read', 'read_account', { account: 'A' });
    expect(r.isError).toBe(true);
    expect(r.text).toContain('invalid_request');
  });
});
