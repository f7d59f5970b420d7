/** Secrets named in `redis:` are read at start-up from their environment variable or file, never from YAML. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { redisStateOptions } from '../../src/server/redis-connection.js';
import { removeTempDirs, tempDir } from './helpers.js';

afterEach(removeTempDirs);

const common = { prefix: 'broker:', commandTimeoutMs: 500, propagationWindowMs: 1000 };

describe('redis connection options', () => {
  it('reads the password from the environment and the sentinel password and CA bundle from files', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'sentinel'), 'sentinel-secret\n');
    await writeFile(join(dir, 'ca.pem'), 'PEM');
    const opts = await redisStateOptions({
      ...common,
      sentinel: { sentinels: [{ host: 's', port: 26379 }], name: 'm', password: { file: join(dir, 'sentinel') } },
      username: 'broker', password: { env: 'REDIS_PASSWORD' }, tls: { caFile: join(dir, 'ca.pem') }, db: 3,
    }, { REDIS_PASSWORD: 'env-secret' });
    expect(opts).toEqual({
      sentinel: { sentinels: [{ host: 's', port: 26379 }], name: 'm', password: 'sentinel-secret' },
      prefix: 'broker:', commandTimeoutMs: 500, username: 'broker', password: 'env-secret', tls: { ca: 'PEM' }, db: 3,
    });
  });

  it('passes replica_acks on to the state', async () => {
    expect(await redisStateOptions({ ...common, url: 'redis://r', replicaAcks: { replicas: 2, timeoutMs: 800 } }, {}))
      .toEqual({ url: 'redis://r', prefix: 'broker:', commandTimeoutMs: 500, replicaAcks: { replicas: 2, timeoutMs: 800 } });
  });

  it('refuses to start when the named environment variable is empty', async () => {
    await expect(redisStateOptions({ ...common, url: 'redis://r', password: { env: 'REDIS_PASSWORD' } }, {})).rejects.toThrow(/REDIS_PASSWORD is not set/u);
  });
});
