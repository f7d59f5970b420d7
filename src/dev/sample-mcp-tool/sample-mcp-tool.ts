/**
 * DEVELOPMENT SAMPLE: an MCP server (the official TypeScript SDK, streamable HTTP, stateless) in front of the
 * sample SaaS. It is the enforcement point of issue 17:
 * - every MCP request carries a broker token, checked by our validation SDK (issuer, audience = this tool,
 *   revocations); its RFC 9728 metadata names the broker as the authorization server;
 * - each tool call performs the onward exchange as the tool identity (onward-client.ts) and calls the SaaS API
 *   with the user's own credential there, so the SaaS applies its own rules (alice: account A only; bob: read only).
 * Tools: `read_account {account}` (needs accounts.read), `update_account {account, note}` (needs accounts.write).
 */
import type { IncomingMessage } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { authenticate, protectedResourceMetadata, type TokenValidator, type ValidatedToken } from '../../sdk/validator/index.js';
import type { OnwardClient } from './onward-client.js';

export interface SampleMcpToolOptions {
  readonly brokerIssuer: string;
  /** This tool's resource identifier in the catalog (the `aud` of the broker tokens it accepts). */
  readonly resource: string;
  readonly validator: TokenValidator;
  readonly onward: OnwardClient;
  /** The SaaS API base, e.g. `http://127.0.0.1:9403/api`. */
  readonly saasApi: string;
}

const text = (value: string, isError = false): CallToolResult => ({ content: [{ type: 'text', text: value }], ...(isError ? { isError: true } : {}) });

async function callSaas(opts: SampleMcpToolOptions, auth: AuthInfo | undefined, need: { broker: string; saas: string }, method: 'GET' | 'POST', account: string): Promise<CallToolResult> {
  if (!auth?.scopes.includes(need.broker)) return text(`the broker token lacks ${need.broker}`, true);
  const credential = await opts.onward.credential(auth.token, need.saas);
  if ('error' in credential) return text(`no credential for the SaaS: ${credential.error} (${credential.description})`, true);
  const res = await fetch(`${opts.saasApi}/accounts/${encodeURIComponent(account)}`, { method, headers: { authorization: `Bearer ${credential.accessToken}` } });
  const body = await res.text();
  return res.ok ? text(body) : text(`the SaaS refused (${String(res.status)}): ${body}`, true);
}

function mcpServer(opts: SampleMcpToolOptions): McpServer {
  const server = new McpServer({ name: 'sample-accounts-tool', version: '1.0.0' });
  server.registerTool('read_account', {
    description: 'Read one account at the sample SaaS, as the user the broker token names.',
    inputSchema: { account: z.string().min(1).max(16) },
  }, ({ account }, extra) => callSaas(opts, extra.authInfo, { broker: 'accounts.read', saas: 'accounts:read' }, 'GET', account));
  server.registerTool('update_account', {
    description: 'Update one account at the sample SaaS, as the user the broker token names.',
    inputSchema: { account: z.string().min(1).max(16), note: z.string().max(200) },
  }, ({ account }, extra) => callSaas(opts, extra.authInfo, { broker: 'accounts.write', saas: 'accounts:write' }, 'POST', account));
  return server;
}

export function sampleMcpToolApp(opts: SampleMcpToolOptions): Koa {
  const app = new Koa();
  const router = new Router();
  router.get('/.well-known/oauth-protected-resource', protectedResourceMetadata({ resource: opts.resource, issuer: opts.brokerIssuer, scopes: ['accounts.read', 'accounts.write'] }));
  router.all('/mcp', authenticate(opts.validator), async (ctx) => {
    const token = ctx.state.token as ValidatedToken;
    const raw = /^(?:Bearer|DPoP) (.+)$/u.exec(ctx.get('authorization'))?.[1] ?? '';
    // The MCP SDK hands `req.auth` to each tool call as `extra.authInfo`.
    (ctx.req as IncomingMessage & { auth?: AuthInfo }).auth = { token: raw, clientId: token.clientId, scopes: [...token.scopes], extra: { sub: token.sub } };
    // Stateless: one server and transport per request (nothing is kept between calls).
    const server = mcpServer(opts);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    ctx.respond = false;
    ctx.res.on('close', () => { void transport.close(); void server.close(); });
    await server.connect(transport);
    await transport.handleRequest(ctx.req, ctx.res);
  });
  app.use(router.routes());
  return app;
}
