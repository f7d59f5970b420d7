/**
 * The admin CLI, run as a child process against a real broker: the key comes from BROKER_ADMIN_KEY, a file
 * or standard input, never from argv (visible to every local user in `ps`); the key is sent only over https
 * or to loopback. Refusals happen before any request: a counting server proves nothing was sent.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { reserveBroker, type RunningTestBroker } from '../support/broker-harness.js';
import { testCatalog } from '../support/catalog.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
let broker: RunningTestBroker;
let key: string;
let dir: string;
let counting: { server: Server; hits: number; port: number };

beforeAll(async () => {
  const admin = await createAdminKey('oncall');
  key = admin.key;
  const reserved = await reserveBroker();
  broker = await reserved.start({ trustedIssuers: [], catalog: testCatalog(), agents: [], config: { adminKeys: [{ id: 'oncall', hash: admin.hash }] } });
  dir = await mkdtemp(join(tmpdir(), 'cli-admin-key-'));
  const server = createServer((req, res) => { counting.hits += 1; res.writeHead(200, { 'content-type': 'application/json' }).end('{"rules":[]}'); });
  // On every interface, so a non-loopback address of this machine reaches it too.
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  counting = { server, hits: 0, port: (server.address() as AddressInfo).port };
}, 30_000);

afterAll(async () => {
  await broker.close();
  counting.server.closeAllConnections();
  await new Promise<void>((r) => counting.server.close(() => { r(); }));
});

interface Run { readonly code: number | null; readonly stdout: string; readonly stderr: string }

function cli(args: readonly string[], env: Record<string, string> = {}, stdin?: string): Promise<Run> {
  return new Promise((done, fail) => {
    const base = { ...process.env };
    delete base.BROKER_ADMIN_KEY;
    delete base.BROKER_URL;
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT, env: { ...base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', fail);
    child.on('close', (code) => { done({ code, stdout, stderr }); });
    child.stdin.end(stdin ?? '');
  });
}

const ok = (run: Run) => {
  expect(run.stderr, run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout)).toBeTypeOf('object');
};

describe('where the admin key comes from', () => {
  it('BROKER_ADMIN_KEY (as before)', async () => {
    ok(await cli(['revocations', '--url', broker.issuer], { BROKER_ADMIN_KEY: key }));
  });

  it('--admin-key-file <file> (a trailing newline is fine)', async () => {
    const file = join(dir, 'key');
    await writeFile(file, `${key}\n`, { mode: 0o600 });
    ok(await cli(['revocations', '--url', broker.issuer, '--admin-key-file', file]));
  });

  it('--admin-key-file - reads standard input', async () => {
    ok(await cli(['revocations', '--admin-key-file', '-'], { BROKER_URL: broker.issuer }, `${key}\n`));
  });

  it('the key read from a file is the one used: a wrong one is refused by the broker', async () => {
    const file = join(dir, 'wrong');
    await writeFile(file, 'oncall.not-the-secret', { mode: 0o600 });
    const run = await cli(['revocations', '--url', broker.issuer, '--admin-key-file', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/HTTP 401/u);
  });

  it('an unreadable or empty key file is a clear error', async () => {
    const missing = await cli(['revocations', '--url', broker.issuer, '--admin-key-file', join(dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read the admin key from .*nope/u);
    const empty = await cli(['revocations', '--url', broker.issuer, '--admin-key-file', '-'], {}, '\n');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no admin key in standard input/u);
  });

  it('no key at all is a clear error', async () => {
    const run = await cli(['revocations', '--url', broker.issuer]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/admin key is required.*BROKER_ADMIN_KEY.*--admin-key-file/u);
  });
});

describe('never from argv', () => {
  for (const args of [['--key', 'KEY'], ['--key=KEY']]) {
    it(`${args.join(' ')} is refused before anything is sent`, async () => {
      const before = counting.hits;
      const run = await cli(['revocations', '--url', `http://127.0.0.1:${counting.port}`, ...args.map((a) => a.replace('KEY', key))], { BROKER_ADMIN_KEY: key });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/visible to every user of this machine \(ps/u);
      expect(run.stdout).toBe('');
      expect(counting.hits - before).toBe(0);
    });
  }

  it('--key is not offered in the help', async () => {
    const run = await cli(['revocations', '--help']);
    expect(run.stdout).toMatch(/--admin-key-file/u);
    expect(run.stdout).not.toMatch(/--key\b/u);
  });
});

describe('plain http only to loopback', () => {
  const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

  it.skipIf(external === undefined)('http to a non-loopback address of this very machine is refused, and nothing reaches it', async () => {
    const before = counting.hits;
    const run = await cli(['revocations', '--url', `http://${external}:${counting.port}`], { BROKER_ADMIN_KEY: key });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/refusing to send the admin key over http .*use https/u);
    expect(counting.hits - before).toBe(0);
    // the same server over loopback is used (control)
    ok(await cli(['revocations', '--url', `http://127.0.0.1:${counting.port}`], { BROKER_ADMIN_KEY: key }));
    expect(counting.hits - before).toBe(1);
  });

  for (const url of ['http://broker.example.com', 'http://10.0.0.1:9400', 'ftp://127.0.0.1/', 'https://user:pw@broker.example.com']) {
    it(`${url} is refused`, async () => {
      const run = await cli(['suspend', 'agent', 'a', '--reason', 'r', '--url', url], { BROKER_ADMIN_KEY: key });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^error: (refusing to send the admin key|the broker URL must not contain credentials)/mu);
    });
  }
});
