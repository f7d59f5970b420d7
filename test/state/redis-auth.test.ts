/**
 * A password-protected Redis with an ACL user, as production runs it: the broker's state connects with the
 * username and the password read from the environment variable `redis.password_env` names, and refuses
 * (bounded, with a clear error, never printing the secret) when the password is wrong or missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStateOptions } from '../../src/server/redis-connection.js';
import { RedisState } from '../../src/state/redis-state.js';
import { freeBase, requireRedisServer } from '../support/redis-topologies.js';
import { uniquePrefix } from '../support/redis.js';

const serverUp = requireRedisServer('password-protected Redis tests');
const PASSWORD = randomBytes(18).toString('base64url');
const settings = (url: string) => ({ url, prefix: uniquePrefix(), commandTimeoutMs: 500, propagationWindowMs: 1000, username: 'broker', password: { env: 'TEST_REDIS_PASSWORD' } });

describe.runIf(serverUp)('Redis with requirepass and an ACL user', () => {
  let child: ChildProcess;
  let url: string;
  beforeAll(async () => {
    const port = await freeBase(1);
    url = `redis://127.0.0.1:${port}`;
    const adminPassword = randomBytes(18).toString('base64url');
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', adminPassword], { stdio: 'ignore' });
    // The default user gets its own password; the broker connects as an ACL user with another one.
    const deadline = Date.now() + 5000;
    for (;;) {
      const admin = new Redis(url, { password: adminPassword, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
      admin.on('error', () => undefined);
      try {
        await admin.connect();
        await admin.call('ACL', 'SETUSER', 'broker', 'on', `>${PASSWORD}`, '~*', '+@all');
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        admin.disconnect();
      }
    }
  }, 15_000);
  afterAll(() => { child.kill('SIGKILL'); });

  it('connects as the ACL user with the password from the environment, and the state works', async () => {
    const state = await RedisState.connect(await redisStateOptions(settings(url), { TEST_REDIS_PASSWORD: PASSWORD }));
    try {
      await state.setAgentOverride('agent-a', { status: 'suspended', reason: 'r', by: 'oncall', at: 1 });
      expect((await state.agentOverride('agent-a'))?.status).toBe('suspended');
      expect(await state.claimOnce('k', 1000)).toBe(true);
      expect(await state.claimOnce('k', 1000)).toBe(false);
    } finally {
      await state.close();
    }
  });

  it('refuses a wrong password within the connect bound, naming the endpoint and not the secret', async () => {
    const started = Date.now();
    const error = await RedisState.connect({ ...(await redisStateOptions(settings(url), { TEST_REDIS_PASSWORD: 'not-the-password' })), timeoutMs: 1500 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toMatch(/127\.0\.0\.1/u);
    expect(String(error)).not.toContain('not-the-password');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses to start without the named variable', async () => {
    await expect(redisStateOptions(settings(url), {})).rejects.toThrow(/TEST_REDIS_PASSWORD is not set/u);
  });
});
