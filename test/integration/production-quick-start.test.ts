/**
 * The README's "Production quick start", step by step, as a newcomer runs it: the `broker` command line
 * (hash-secret, keys generate, admin-key, check) and `src/main.ts` as processes, production mode on
 * loopback http (the one http issuer production accepts), a real oidc-provider as the company identity
 * provider, then the first exchange and the admin key at work. Only the port differs from the README.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { freePort } from '../support/production-broker.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT } from '../support/token-request.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
// The newcomer runs `npm run --silent broker -- …` at the repository root; the test runs the same entry
// points from a directory of its own, so tsx is named by path.
const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

function run(args: readonly string[], opts: { cwd: string; stdin?: string; env?: Record<string, string> }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', TSX, join(ROOT, 'src', 'cli', 'main.ts'), ...args], {
      cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.stdin.end(opts.stdin ?? '');
    child.once('exit', (code) => { done({ code, stdout, stderr }); });
  });
}

describe('the README production quick start', () => {
  let idp: UpstreamIdp | undefined;
  let stopBroker: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await stopBroker?.();
    await idp?.close();
  });

  it('goes from an empty directory to a first exchange with production material only', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'quick-start-'));
    const port = await freePort();
    const BROKER_ISSUER = `http://127.0.0.1:${String(port)}`;
    idp = await startUpstreamIdp({ audience: BROKER_ISSUER });
    const IDP_ISSUER = idp.issuer;

    // 2. A catalog and an agent with its own secret.
    await mkdir(join(cwd, 'deploy', 'scopes'), { recursive: true });
    await mkdir(join(cwd, 'deploy', 'clients'), { recursive: true });
    await copyFile(join(ROOT, 'scopes', 'crm.yaml'), join(cwd, 'deploy', 'scopes', 'crm.yaml'));
    const AGENT_SECRET = randomBytes(32).toString('hex');
    const hashed = await run(['hash-secret'], { cwd, stdin: `${AGENT_SECRET}\n` });
    expect(hashed.code).toBe(0);
    const AGENT_HASH = hashed.stdout.trim();
    expect(AGENT_HASH).toMatch(/^scrypt\$16384\$8\$1\$/u);
    await writeFile(join(cwd, 'deploy', 'clients', 'support-assistant.yaml'), [
      'client_id: support-assistant', 'name: Support assistant', 'owner: support-platform@example.com', 'status: active',
      'authentication:', '  method: client_secret_basic', `  secret_hash: "${AGENT_HASH}"`,
      'tools:', '  crm: [crm.accounts.read]', 'max_ttl: 10m', '',
    ].join('\n'));

    // 3. A signing key and an admin key.
    const keys = await run(['keys', 'generate', '--keys-dir', 'deploy/keys'], { cwd });
    expect(keys.code).toBe(0);
    expect(keys.stdout).toMatch(/^wrote deploy\/keys\/signing-[\w-]+\.json \(mode 0600\): [\w-]+, active\n$/u);
    const admin = await run(['admin-key', '--id', 'oncall-alice'], { cwd });
    const ADMIN_KEY = /^key: *(.*)$/mu.exec(admin.stdout)?.[1] ?? '';
    const ADMIN_HASH = /^hash: *(.*)$/mu.exec(admin.stdout)?.[1] ?? '';
    expect(ADMIN_KEY).not.toBe('');
    expect(ADMIN_HASH).not.toBe('');

    // 4. broker.yaml (the README's, with this test's port).
    await writeFile(join(cwd, 'deploy', 'broker.yaml'), [
      'mode: production', `issuer: ${BROKER_ISSUER}`, 'host: 0.0.0.0', `port: ${String(port)}`,
      'catalog_dir: ./scopes', 'clients_dir: ./clients', 'keys_dir: ./keys', 'attribution: { file: ./data/attribution.jsonl }',
      'admin_keys:', `  - { id: oncall-alice, hash: "${ADMIN_HASH}" }`,
      'trusted_issuers:', `  - issuer: ${IDP_ISSUER}`, `    audiences: [${BROKER_ISSUER}]`, '    algorithms: [RS256, ES256]',
      '    scope_claim: scope', '    token_types: [at+jwt, JWT]', '',
    ].join('\n'));

    // 5. Check, then start.
    const check = await run(['check', '--config', 'deploy/broker.yaml'], { cwd });
    expect({ code: check.code, stdout: check.stdout }).toEqual({ code: 0, stdout: 'ok: 1 tool (crm), 1 agent (support-assistant)\n' });
    const broker = spawn(process.execPath, ['--import', TSX, join(ROOT, 'src', 'main.ts')], {
      cwd, env: { ...process.env, BROKER_CONFIG: 'deploy/broker.yaml', NODE_ENV: 'production', REDIS_URL: '' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    broker.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    stopBroker = () => new Promise<void>((done) => {
      if (broker.exitCode !== null) { done(); return; }
      broker.once('exit', () => { done(); });
      broker.kill('SIGTERM');
    });
    for (let i = 0; ; i++) {
      if (broker.exitCode !== null) throw new Error(`broker exited: ${stderr}`);
      if (await fetch(`${BROKER_ISSUER}/healthz`).then((r) => r.ok, () => false)) break;
      if (i > 300) throw new Error(`broker did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // 6. The first exchange.
    const USER_TOKEN = await idp.userToken('alice');
    const res = await rawPost(`${BROKER_ISSUER}/token`, form({
      grant_type: TE_GRANT, subject_token: USER_TOKEN, subject_token_type: AT_TYPE,
      resource: 'https://crm.example.internal/api', scope: 'crm.accounts.read',
    }), { authorization: basic('support-assistant', AGENT_SECRET) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', scope: 'crm.accounts.read', issued_token_type: AT_TYPE });
    const claims = JSON.parse(Buffer.from((res.body.access_token as string).split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: BROKER_ISSUER, sub: 'alice', act: { sub: 'support-assistant' } });
    const records = (await readFile(join(cwd, 'deploy', 'data', 'attribution.jsonl'), 'utf8')).trim().split('\n');
    expect(JSON.parse(records.at(-1) ?? '{}')).toMatchObject({ decision: 'granted', agent: { client_id: 'support-assistant' } });

    // The admin key works: the kill switch from the README's "Admin API and CLI".
    const suspend = await run(['suspend', 'agent', 'support-assistant', '--reason', 'quick start'], { cwd, env: { BROKER_URL: BROKER_ISSUER, BROKER_ADMIN_KEY: ADMIN_KEY } });
    expect(suspend.code).toBe(0);
  }, 90_000);
});
