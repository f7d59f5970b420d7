/**
 * Private Redis topologies for tests, built from throwaway redis-server processes on random ports:
 * a 3-master Redis Cluster and a master watched by one Sentinel. Each start() returns a handle whose
 * stop() kills its processes and removes its directory. Tests call `requireRedisServer` first: without
 * the binaries they are skipped loudly, and in CI they fail.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export function redisServerInstalled(): boolean {
  const server = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  const cli = spawnSync('redis-cli', ['--version'], { stdio: 'ignore' });
  return server.status === 0 && cli.status === 0;
}

/** True when tests needing redis-server and redis-cli can run; throws in CI if they are missing. */
export function requireRedisServer(what: string): boolean {
  if (redisServerInstalled()) return true;
  const message = `redis-server / redis-cli NOT INSTALLED: ${what} cannot run.`;
  if (process.env.CI) throw new Error(`${message} They are required in CI.`);
  process.stderr.write(`\n!!!!!!!!!! ${message} These tests are SKIPPED on this machine. !!!!!!!!!!\n\n`);
  return false;
}

/** Whether 127.0.0.1:`port` can be bound right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => { done(false); });
    probe.listen(port, '127.0.0.1', () => probe.close(() => { done(true); }));
  });
}

/**
 * A base port such that base .. base + count - 1 (and, with `busOffset`, the same ports + busOffset: a cluster
 * node's bus port) are free now. Bases lie in 20000–22699, so with the cluster bus offset of 10000 every port
 * stays below Linux's ephemeral range (32768+), where outgoing connections and listen(0) would take them.
 */
export async function freeBase(count: number, busOffset?: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 2_700);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const wanted = busOffset === undefined ? ports : [...ports, ...ports.map((p) => p + busOffset)];
    if ((await Promise.all(wanted.map(portFree))).every(Boolean)) return base;
  }
  throw new Error(`no ${String(count)} consecutive free ports found for a private Redis`);
}

/** How long a freshly spawned redis-server may take to answer (tests run in parallel on small machines). */
const START_TIMEOUT_MS = 20_000;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not become ready within ${String(timeoutMs)} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function command(port: number, ...args: [string, ...string[]]): Promise<unknown> {
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return await probe.call(...args);
  } finally {
    probe.disconnect();
  }
}

class Processes {
  readonly #children: ChildProcess[] = [];

  spawn(cmd: string, args: readonly string[], cwd: string): void {
    this.#children.push(spawn(cmd, args, { stdio: 'ignore', cwd }));
  }

  async killAll(): Promise<void> {
    await Promise.all(this.#children.map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve();
        return;
      }
      child.once('exit', () => { resolve(); });
      child.kill('SIGKILL');
    })));
  }
}

export interface PrivateCluster {
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  stop(): Promise<void>;
}

/** Three masters, no replicas, all 16384 slots assigned. */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'));
  const processes = new Processes();
  const base = await freeBase(3, 10_000);
  const ports = [base, base + 1, base + 2];
  const stop = async () => {
    await processes.killAll();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      processes.spawn('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${String(port)}.conf`, '--cluster-node-timeout', '2000',
      ], dir);
    }
    for (const port of ports) await waitFor(`redis cluster node ${String(port)}`, async () => (await command(port, 'PING')) === 'PONG', START_TIMEOUT_MS);
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${String(p)}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 15_000 });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    for (const port of ports) {
      await waitFor(`cluster state at ${String(port)}`, async () => String(await command(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'), 10_000);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop };
}

export interface PrivateSentinel {
  readonly master: { readonly host: string; readonly port: number };
  readonly sentinel: { readonly host: string; readonly port: number };
  readonly name: string;
  /** With `withReplica`: promotes the replica (SENTINEL FAILOVER) and resolves once the Sentinel names it. */
  failover(): Promise<{ readonly host: string; readonly port: number }>;
  stop(): Promise<void>;
}

/** One master (plus, optionally, one replica) and one Sentinel (quorum 1) that monitors it as `name`. */
export async function startPrivateSentinel(name = 'brokermaster', opts: { readonly withReplica?: boolean } = {}): Promise<PrivateSentinel> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-sentinel-'));
  const processes = new Processes();
  const masterPort = await freeBase(3);
  const sentinelPort = masterPort + 1;
  const stop = async () => {
    await processes.killAll();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    processes.spawn('redis-server', ['--port', String(masterPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], dir);
    await waitFor('sentinel-managed master', async () => (await command(masterPort, 'PING')) === 'PONG', START_TIMEOUT_MS);
    if (opts.withReplica) {
      // Started before the Sentinel, so its first INFO of the master already lists the replica.
      processes.spawn('redis-server', ['--port', String(masterPort + 2), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--replicaof', '127.0.0.1', String(masterPort)], dir);
      await waitFor('replica in sync', async () => /master_link_status:up/u.test(String(await command(masterPort + 2, 'INFO', 'replication'))), 10_000);
    }
    const conf = join(dir, 'sentinel.conf');
    await writeFile(conf, [
      `port ${String(sentinelPort)}`, 'bind 127.0.0.1', `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${String(masterPort)} 1`,
      `sentinel down-after-milliseconds ${name} 5000`, '',
    ].join('\n'));
    processes.spawn('redis-server', [conf, '--sentinel'], dir);
    await waitFor('sentinel', async () => {
      const reply = await command(sentinelPort, 'SENTINEL', 'get-master-addr-by-name', name);
      return Array.isArray(reply) && reply[1] === String(masterPort);
    }, START_TIMEOUT_MS);
  } catch (err) {
    await stop();
    throw err;
  }
  const failover = async () => {
    const replicaPort = masterPort + 2;
    await waitFor('sentinel knows the replica', async () => {
      const replicas = await command(sentinelPort, 'SENTINEL', 'replicas', name);
      return Array.isArray(replicas) && replicas.length > 0;
    }, 15_000);
    // The Sentinel refuses (NOGOODSLAVE) until it has heard from the replica itself: retry until accepted.
    await waitFor('failover accepted', async () => (await command(sentinelPort, 'SENTINEL', 'failover', name)) === 'OK', 20_000);
    await waitFor('failover', async () => {
      const reply = await command(sentinelPort, 'SENTINEL', 'get-master-addr-by-name', name);
      return Array.isArray(reply) && reply[1] === String(replicaPort);
    }, 15_000);
    return { host: '127.0.0.1', port: replicaPort };
  };
  return { master: { host: '127.0.0.1', port: masterPort }, sentinel: { host: '127.0.0.1', port: sentinelPort }, name, failover, stop };
}
