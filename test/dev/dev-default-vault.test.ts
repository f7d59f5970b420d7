/**
 * The development default's `vault` sample end to end, through the broker exactly as `npm start` composes it
 * (config loader, the repository's sample catalog and agents, startBroker, dev identity provider, sample SaaS,
 * sample MCP tools) on free ports: before alice connects, the agent gets the registered error with the connect
 * URL; she connects in Chromium (broker sign-in at the development identity provider, login and consent at the
 * SaaS's real pages); then agent -> broker -> MCP tool -> broker (vault) -> SaaS works with her own permissions
 * there; after she disconnects, the same error again, and her refresh token was revoked at the SaaS (RFC 7009).
 */
import type { EventEmitter } from 'node:events';
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type Browser, type Page } from 'playwright-core';
import { chromiumAvailable, launchChromium } from '../support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchDevToken } from '../../src/cli/dev-token-command.js';
import { loadEverything } from '../../src/config/load-all.js';
import { createLogger } from '../../src/log.js';
import { AgentClient } from '../../src/sdk/agent/index.js';
import { startBroker, type RunningBroker } from '../../src/server/start-broker.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const haveChromium = chromiumAvailable('the vault sample of the development default is');
const RESOURCE = 'https://connected-accounts.example.internal/mcp';

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const srv = createServer();
    srv.once('error', () => { done(false); });
    srv.listen(port, '127.0.0.1', () => { srv.close(() => { done(true); }); });
  });
}

/** A port whose next `count - 1` ports are free too (identity provider, CRM tool, SaaS, two MCP tools). */
async function freePortRun(count: number): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    let ok = true;
    for (let i = 0; i < count && ok; i += 1) ok = await portFree(base + i);
    if (ok) return base;
  }
}

let running: RunningBroker;
let dir: string;
let browser: Browser;
let agent: AgentClient;
const seenByAgent: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dev-vault-'));
  const idpPort = await freePortRun(5);
  const saasPort = idpPort + 2;
  // The repository's sample catalog, with the sample SaaS on this run's port instead of 9403.
  await cp(join(REPO, 'scopes'), join(dir, 'scopes'), { recursive: true });
  for (const file of await readdir(join(dir, 'scopes'))) {
    const path = join(dir, 'scopes', file);
    await writeFile(path, (await readFile(path, 'utf8')).replaceAll('localhost:9403', `localhost:${String(saasPort)}`));
  }
  const env = {
    BROKER_PORT: String(await freePortRun(1)),
    BROKER_DEV_IDP_PORT: String(idpPort),
    BROKER_KEYS_DIR: join(dir, 'keys'),
    BROKER_ATTRIBUTION_FILE: join(dir, 'attribution.jsonl'),
    BROKER_CATALOG_DIR: join(dir, 'scopes'),
  };
  const loaded = await loadEverything({ env, cwd: REPO });
  running = await startBroker(loaded, createLogger('silent'));
  agent = await AgentClient.create({ issuer: running.issuer, clientId: 'demo-agent', auth: { clientSecret: 'demo-agent-secret' }, allowInsecureLoopback: true });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser.close();
  await running.stop();
});

async function callTool(user: string, account: string): Promise<{ isError: boolean; text: string }> {
  const vaultTool = running.upstreamSamples?.vaultTool;
  if (!vaultTool) throw new Error('the sample vault tool did not start');
  const token = await agent.getToken({ subjectToken: await fetchDevToken(running.devIdentityProvider!.issuer, user), tool: RESOURCE, scope: 'accounts.read' });
  const url = `${vaultTool.url}/mcp`;
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: await token.headers('POST', url) },
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      seenByAgent.push(await res.clone().text());
      return res;
    },
  }));
  try {
    const result = await client.callTool({ name: 'read_account', arguments: { account } });
    const content = result.content as { text?: string }[];
    return { isError: result.isError === true, text: content.map((c) => c.text ?? '').join('') };
  } finally {
    await client.close();
  }
}

interface LoggedRecord { type: string; decision?: string; reason?: string; error?: string; agent?: { client_id?: string }; onward?: { connector?: string; credential_sha256?: string } }

/** The attribution log's onward records of the vault tool identity, once `count` of them are written. */
async function onwardRecords(count: number): Promise<LoggedRecord[]> {
  let found: LoggedRecord[] = [];
  await expect.poll(async () => {
    const text = await readFile(join(dir, 'attribution.jsonl'), 'utf8').catch(() => '');
    found = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LoggedRecord)
      .filter((r) => r.type === 'token_exchange' && r.agent?.client_id === 'connected-accounts-tool');
    return found.length;
  }, { timeout: 5000 }).toBeGreaterThanOrEqual(count);
  return found;
}

async function connectInBrowser(page: Page, connectUrl: string, saasIssuer: string): Promise<void> {
  await page.goto(connectUrl);
  // The broker's sign-in: the development identity provider's login page.
  await page.fill('#username', 'alice');
  await page.fill('#password', 'alice-dev-password');
  await Promise.all([page.waitForURL((u) => u.origin === saasIssuer), page.click('button[type=submit]')]);
  // The sample SaaS's own login, then its consent page.
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=password]', 'alice-saas');
  await page.click('button[type=submit]');
  await expect.poll(() => page.locator('code').textContent()).toBe('accounts:read accounts:write');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(`${connectUrl}/callback`)), page.click('button[value=allow]')]);
}

describe.runIf(haveChromium)('the development default: the vault sample', () => {
  it('before, after connecting, and after disconnecting', async () => {
    const samples = running.upstreamSamples;
    expect(samples?.vaultTool).toMatchObject({ tool: 'connected-accounts', connectUrl: `${running.issuer}/connect/connected-accounts` });
    const connectUrl = samples!.vaultTool!.connectUrl;

    // Before: the registered error with the URL to connect; one denial, no credential.
    const before = await callTool('alice', 'A');
    expect(before).toEqual({ isError: true, text: `no credential for the SaaS: invalid_grant (the user has not connected this service: ${connectUrl})` });
    const afterFirst = await onwardRecords(1);
    expect(afterFirst).toHaveLength(1);
    expect(afterFirst[0]).toMatchObject({ decision: 'denied', reason: 'upstream_not_connected', error: 'invalid_grant' });
    expect(afterFirst[0]?.onward?.credential_sha256).toBeUndefined();

    // alice connects in Chromium.
    const page = await browser.newPage();
    await connectInBrowser(page, connectUrl, samples!.saas.issuer);
    expect(await page.locator('#title').textContent()).toBe('Connected');

    // After: agent -> broker -> MCP tool -> broker (vault) -> SaaS, with the SaaS's own rules for alice.
    const a = await callTool('alice', 'A');
    expect(a.isError).toBe(false);
    expect(JSON.parse(a.text)).toMatchObject({ id: 'A', read_by: 'alice' });
    const b = await callTool('alice', 'B');
    expect(b).toMatchObject({ isError: true });
    expect(b.text).toContain('alice may not read account B here');
    const granted = (await onwardRecords(3)).filter((r) => r.decision === 'granted');
    expect(granted.length).toBeGreaterThanOrEqual(1);
    expect(granted[0]?.onward?.connector).toBe('vault');
    expect(granted[0]?.onward?.credential_sha256).toMatch(/^[A-Za-z0-9_-]{20,}$/u);

    // Disconnect (signed in, same origin): the entry is deleted and the refresh token revoked at the SaaS.
    const revoked: { kind: string; accountId?: string }[] = [];
    const onRevoked = (token: { kind: string; accountId?: string }): void => { revoked.push({ kind: token.kind, ...(token.accountId ? { accountId: token.accountId } : {}) }); };
    // oidc-provider's revocation endpoint (RFC 7009) destroys the token: `refresh_token.destroyed` (base_model.js).
    const saasEvents = samples!.saas.provider as unknown as EventEmitter;
    saasEvents.on('refresh_token.destroyed', onRevoked);
    // The browser context's own cookies (the broker session), from the broker's origin.
    const res = await page.request.delete(connectUrl, { headers: { origin: running.issuer } });
    const answer = { status: res.status(), body: await res.json() as unknown };
    saasEvents.off('refresh_token.destroyed', onRevoked);
    await page.close();
    expect(answer).toEqual({ status: 200, body: { tool: 'connected-accounts', disconnected: true, revoked_at_saas: 'revoked' } });
    expect(revoked).toEqual([{ kind: 'RefreshToken', accountId: 'alice' }]);

    const after = await callTool('alice', 'A');
    expect(after).toEqual(before);
    const last = (await onwardRecords(4)).at(-1);
    expect(last).toMatchObject({ decision: 'denied', reason: 'upstream_not_connected' });

    // Nothing the agent received holds a JWT (the SaaS credential stays inside the MCP tool).
    expect(seenByAgent.length).toBeGreaterThan(0);
    for (const body of seenByAgent) expect(body).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/u);
  }, 90_000);
});
