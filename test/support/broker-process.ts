/**
 * A broker as its own OS process (`tsx src/main.ts`), configured by a production-mode YAML file in a temp
 * dir: what an operator runs, replica by replica.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateSigningKey } from '../../src/keys/signing-keys.js';
import { serializeKeyFile } from '../../src/keys/key-file.js';

export interface BrokerProcess {
  readonly url: string;
  readonly dir: string;
  /** Sends the process a signal (SIGHUP: reload scopes/ and clients/). */
  signal(name: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export async function startBrokerProcess(opts: { issuer: string; port: number; yaml: string; keyJson: string; env?: Readonly<Record<string, string>> }): Promise<BrokerProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'broker-proc-'));
  await mkdir(join(dir, 'keys'), { mode: 0o700 });
  await writeFile(join(dir, 'keys', 'signing-shared.json'), opts.keyJson, { mode: 0o600 });
  const config = join(dir, 'broker.yaml');
  await writeFile(config, opts.yaml.replaceAll('$DIR', dir));
  const root = resolve(import.meta.dirname, '..', '..');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'main.ts')], {
    cwd: root,
    env: { ...process.env, BROKER_CONFIG: config, BROKER_PORT: String(opts.port), NODE_ENV: 'production', BROKER_LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`broker process exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`broker process did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    dir,
    signal(name) {
      child.kill(name);
    },
    async stop() {
      if (child.exitCode !== null) return;
      await new Promise<void>((done) => {
        child.once('exit', () => { done(); });
        child.kill('SIGTERM');
      });
    },
  };
}

/** One signing key for every replica (as an operator provisions it), serialised as the keys dir stores it. */
export async function sharedKeyJson(): Promise<string> {
  return serializeKeyFile(await generateSigningKey());
}
