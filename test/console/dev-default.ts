/**
 * The embedded development default as `npm start` runs it (sample catalog and agent, the development
 * identity provider with its login page, the file attribution sink), on free ports, for the console tests.
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadEverything } from '../../src/config/load-all.js';
import { fetchDevToken } from '../../src/cli/dev-token-command.js';
import { createLogger } from '../../src/log.js';
import { startBroker, type RunningBroker } from '../../src/server/start-broker.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../support/token-request.js';

async function freePortPair(): Promise<number> {
  // The dev identity provider's port + 1 is the sample tool's: a port whose successor is free too.
  for (;;) {
    const port = await new Promise<number>((done) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => { const { port: p } = srv.address() as { port: number }; srv.close(() => { done(p); }); });
    });
    const next = await new Promise<boolean>((done) => {
      const srv = createServer();
      srv.once('error', () => { done(false); });
      srv.listen(port + 1, '127.0.0.1', () => { srv.close(() => { done(true); }); });
    });
    if (next && port < 65_000) return port;
  }
}

export async function startDevDefault(): Promise<{ running: RunningBroker; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'console-'));
  const env = {
    BROKER_PORT: String(await freePortPair()),
    BROKER_DEV_IDP_PORT: String(await freePortPair()),
    BROKER_KEYS_DIR: join(dir, 'keys'),
    BROKER_ATTRIBUTION_FILE: join(dir, 'attribution.jsonl'),
  };
  const loaded = await loadEverything({ env, cwd: resolve(import.meta.dirname, '..', '..') });
  return { running: await startBroker(loaded, createLogger(process.env.DEBUG_CONSOLE ? 'debug' : 'silent')), dir };
}

export const CRM_RESOURCE = 'https://crm.example.internal/api';

/** A real token exchange by the demo agent for alice's token from the development identity provider. */
export async function demoExchange(running: RunningBroker): Promise<RawResponse> {
  const userToken = await fetchDevToken(running.devIdentityProvider?.issuer ?? '', 'alice');
  return rawPost(`${running.issuer}/token`, form({
    grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE,
    resource: CRM_RESOURCE, scope: 'crm.accounts.read',
  }), { authorization: basic('demo-agent', 'demo-agent-secret') });
}
