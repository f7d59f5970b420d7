/**
 * Graceful shutdown writes the open interval of unauthenticated denials before the log closes: only a crash
 * can lose them (at most one interval). A real broker process shell (startBroker) with the file sink.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyLog } from '../../src/attribution/verify.js';
import { loadSigningKeys } from '../../src/keys/signing-keys.js';
import { createLogger } from '../../src/log.js';
import { startBroker } from '../../src/server/start-broker.js';
import { baseConfig } from '../support/broker-harness.js';
import { testCatalog } from '../support/catalog.js';
import { form, rawPost, TE_GRANT } from '../support/token-request.js';

describe('graceful shutdown', () => {
  it('writes the open aggregate of unauthenticated denials into the chain before the sink closes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aggregate-shutdown-'));
    const file = join(dir, 'attribution.jsonl');
    const config = baseConfig('http://127.0.0.1', {
      keysDir: join(dir, 'keys'),
      attribution: { file, unauthenticatedIntervalMs: 300_000 }, // far longer than the test: only stop() can write it
    });
    const running = await startBroker({ config, catalog: testCatalog(), agents: { agents: new Map() } }, createLogger('silent'));
    const url = `http://127.0.0.1:${String(running.port)}/token`;
    for (let i = 0; i < 7; i += 1) {
      const res = await rawPost(url, form({ grant_type: TE_GRANT }));
      expect(res.status).toBe(401);
      expect(res.body.access_token).toBeUndefined();
    }
    expect(await readFile(file, 'utf8').catch(() => '')).toBe(''); // nothing synced per request
    await running.stop();
    const text = await readFile(file, 'utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.type === 'token_exchange')).toEqual([]);
    expect(lines.filter((l) => l.type === 'token_exchange_aggregate')).toMatchObject([
      { caller: { address: '127.0.0.1' }, aggregate: { count: 7, reasons: { client_authentication_missing: 7 } } },
    ]);
    const { kty, crv, x, y, kid } = (await loadSigningKeys(join(dir, 'keys'), { generateIfMissing: false })).active.privateJwk;
    await expect(verifyLog(text, { keys: [{ kty, crv, x, y, kid }] })).resolves.toMatchObject({ ok: true, records: 1, checkpoints: 1 });
  });
});
