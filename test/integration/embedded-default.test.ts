/**
 * The embedded development default, assembled exactly as `npm start` does (config loader, sample catalog
 * and agent, dev keys, dev identity provider, sample tool), on free ports: the README's flow end to end.
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { loadEverything } from '../../src/config/load-all.js';
import { fetchDevToken } from '../../src/cli/dev-token-command.js';
import { createLogger } from '../../src/log.js';
import { startBroker, type RunningBroker } from '../../src/server/start-broker.js';
import { verifyLog } from '../../src/attribution/verify.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../support/token-request.js';

async function freePortPair(): Promise<number> {
  // The dev identity provider's port + 1 is the sample tool's: find a port whose successor is free too.
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

let running: RunningBroker;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'embedded-'));
  const env = {
    BROKER_PORT: String(await freePortPair()),
    BROKER_DEV_IDP_PORT: String(await freePortPair()),
    BROKER_KEYS_DIR: join(dir, 'keys'),
    BROKER_ATTRIBUTION_FILE: join(dir, 'attribution.jsonl'),
  };
  const loaded = await loadEverything({ env, cwd: resolve(import.meta.dirname, '..', '..') });
  expect(loaded.config.mode).toBe('development');
  running = await startBroker(loaded, createLogger('silent'));
}, 30_000);
afterAll(async () => { await running.stop(); });

describe('the embedded development default', () => {
  it('generates a signing key, serves the README flow, and the sample tool enforces its own permissions', async () => {
    expect(running.keysGenerated).toBe(true);
    const userToken = await fetchDevToken(running.devIdentityProvider!.issuer, 'alice');
    const res = await rawPost(`${running.issuer}/token`, form({
      grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE,
      resource: 'https://crm.example.internal/api', scope: 'crm.accounts.read crm.accounts.write',
    }), { authorization: basic('demo-agent', 'demo-agent-secret') });
    expect(res.status).toBe(200);
    const claims = decodeJwt(String(res.body.access_token));
    expect(claims).toMatchObject({ sub: 'alice', act: { sub: 'demo-agent' }, aud: 'https://crm.example.internal/api', scope: 'crm.accounts.read crm.accounts.write' });

    const tool = running.sampleTool!.url;
    const auth = { authorization: `Bearer ${String(res.body.access_token)}` };
    expect((await fetch(`${tool}/accounts/A`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${tool}/accounts/B`, { headers: auth })).status).toBe(403);
  });

  it('has written a hash-chained attribution log that verifies', async () => {
    const text = await readFile(join(dir, 'attribution.jsonl'), 'utf8');
    expect(text).toContain('"reason":"granted"');
    expect(text).not.toContain('demo-agent-secret');
    const signing = (await readdir(join(dir, 'keys'))).find((f) => f.startsWith('signing-'))!;
    const { jwk } = JSON.parse(await readFile(join(dir, 'keys', signing), 'utf8')) as { jwk: Record<string, string> };
    const result = await verifyLog(text, { keys: [{ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: jwk.kid, alg: 'ES256' }] });
    expect(result).toMatchObject({ ok: true });
  });
});
