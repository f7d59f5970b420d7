/** Free space on the attribution disk: /readyz says so and a warning is logged before writes fail. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FreeSpaceMonitor, judgeFreeSpace, type StatFs } from '../../src/attribution/free-space.js';
import { MemorySink } from '../../src/attribution/memory-sink.js';
import { loadSigningKeys } from '../../src/keys/signing-keys.js';
import { createLogger } from '../../src/log.js';
import { createBroker } from '../../src/server/create-broker.js';
import { close, listen } from '../../src/server/listen.js';
import { baseConfig } from '../support/broker-harness.js';
import { testCatalog } from '../support/catalog.js';

const MIB = 1024 * 1024;
const THRESHOLD = 256 * MIB; // the default attribution.min_free

/** A log that keeps its lines, to see the warnings. */
function capturingLog() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('info', { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>); } });
  return { log, warnings: () => lines.filter((l) => l.level === 40), infos: () => lines.filter((l) => l.level === 30) };
}

/** statfs reporting `free()` bytes in 4 KiB blocks; records the paths it was asked about. */
function fakeDisk(free: () => number): { statfs: StatFs; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    statfs: (path) => {
      asked.push(path);
      return Promise.resolve({ bavail: BigInt(Math.floor(free() / 4096)), bsize: 4096n });
    },
  };
}

describe('judgeFreeSpace', () => {
  it('is ready at or above the threshold, not below', () => {
    expect(judgeFreeSpace('/d', THRESHOLD, THRESHOLD).ok).toBe(true);
    expect(judgeFreeSpace('/d', THRESHOLD - 1, THRESHOLD)).toMatchObject({ ok: false, free_bytes: THRESHOLD - 1, min_free_bytes: THRESHOLD });
  });
});

describe('FreeSpaceMonitor', () => {
  it('warns once when the disk gets low (not on every check), and says when it recovered', async () => {
    let free = 10 * 1024 * MIB;
    const disk = fakeDisk(() => free);
    const { log, warnings, infos } = capturingLog();
    const monitor = new FreeSpaceMonitor({ file: '/var/lib/broker/attribution.jsonl', minFreeBytes: THRESHOLD, log, statfs: disk.statfs, intervalMs: 0 });
    expect((await monitor.check()).ok).toBe(true);
    expect(warnings()).toEqual([]);
    free = 100 * MIB;
    expect(await monitor.check()).toMatchObject({ ok: false, path: '/var/lib/broker', free_bytes: 100 * MIB });
    await monitor.check();
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ path: '/var/lib/broker', free_bytes: 100 * MIB, min_free_bytes: THRESHOLD });
    free = 1024 * MIB;
    expect((await monitor.check()).ok).toBe(true);
    expect(infos().at(-1)).toMatchObject({ msg: 'attribution disk has enough free space again' });
    monitor.close();
  });

  it('measures the nearest existing parent when the log directory does not exist yet (real statfs)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'free-space-'));
    const monitor = new FreeSpaceMonitor({ file: join(dir, 'not', 'yet', 'attribution.jsonl'), minFreeBytes: 1, log: createLogger('silent'), intervalMs: 0 });
    expect(await monitor.check()).toMatchObject({ ok: true, path: dir });
    monitor.close();
  });

  it('a disk it cannot measure is not ready', async () => {
    const monitor = new FreeSpaceMonitor({
      file: '/x/attribution.jsonl', minFreeBytes: THRESHOLD, log: createLogger('silent'), intervalMs: 0,
      statfs: () => Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })),
    });
    expect(await monitor.check()).toMatchObject({ ok: false, reason: expect.stringContaining('cannot be measured') as string });
    monitor.close();
  });
});

describe('/readyz and the attribution disk', () => {
  it('turns 503 naming the attribution disk below attribution.min_free, logs a warning, and is ready again once space is back', async () => {
    let free = 1024 * MIB;
    const disk = fakeDisk(() => free);
    const { log, warnings } = capturingLog();
    const keysDir = await mkdtemp(join(tmpdir(), 'broker-keys-'));
    const { server, port } = await listen(undefined, '127.0.0.1', 0);
    const issuer = `http://127.0.0.1:${String(port)}`;
    const broker = createBroker({
      config: baseConfig(issuer, { keysDir, attribution: { file: '/var/lib/broker/attribution.jsonl', minFreeBytes: THRESHOLD } }),
      catalog: testCatalog(), agents: { agents: new Map() }, keys: await loadSigningKeys(keysDir, { generateIfMissing: true }),
      sink: new MemorySink(), log, statfs: disk.statfs,
    });
    server.on('request', (req, res) => { void broker.app.callback()(req, res); });
    try {
      const ready = await fetch(`${issuer}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready' });

      free = 200 * MIB;
      const low = await fetch(`${issuer}/readyz`);
      expect(low.status).toBe(503);
      expect(await low.json()).toMatchObject({
        status: 'unavailable',
        checks: { attribution_disk: { ok: false, path: '/var/lib/broker', free_bytes: 200 * MIB, min_free_bytes: THRESHOLD } },
      });
      expect(warnings().some((w) => typeof w.msg === 'string' && w.msg.startsWith('attribution disk low'))).toBe(true);

      free = 300 * MIB;
      expect((await fetch(`${issuer}/readyz`)).status).toBe(200);
    } finally {
      broker.close();
      await close(server, 0);
    }
  });
});
