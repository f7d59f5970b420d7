/**
 * Redis for tests. The shared instance at 127.0.0.1:6379 (REDIS_URL overrides) must be there in CI;
 * on a developer machine without it, Redis tests are skipped with a loud warning, never passed silently.
 * `startPrivateRedis` runs a throwaway redis-server on its own port for tests that stop and restart it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { freeBase } from './redis-topologies.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function redisAvailable(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1000, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** True when Redis tests should run; throws in CI if Redis is missing; warns loudly otherwise. */
export async function requireRedis(what: string): Promise<boolean> {
  if (await redisAvailable()) return true;
  const message = `REDIS NOT AVAILABLE at ${REDIS_URL}: ${what} cannot run.`;
  if (process.env.CI) throw new Error(`${message} Redis is required in CI.`);
  process.stderr.write(`\n!!!!!!!!!! ${message} These tests are SKIPPED on this machine. !!!!!!!!!!\n\n`);
  return false;
}

/** A key prefix no other test uses; remove its keys with `cleanupPrefix`. */
export function uniquePrefix(): string {
  return `test:${randomUUID()}:`;
}

export async function cleanupPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function waitForPing(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis at ${url} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  // A port that is free now and below the ephemeral range, where a client socket could take it between runs.
  const port = await freeBase(1);
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitForPing(url, 20_000); // the whole suite runs in parallel on two cores
  };
  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => { resolve(); });
      proc.kill('SIGKILL');
    });
  };
  await start();
  return { url, port, start, stop };
}
