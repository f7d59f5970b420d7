/** The optional file watch: a burst of writes in a watched directory asks for one reload, after it is quiet. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { watchConfigDirs } from '../../src/reload/watch.js';

describe('watchConfigDirs', () => {
  it('debounces a burst of changes into one reload request, and stops when closed', async () => {
    const [scopes, clients] = [await mkdtemp(join(tmpdir(), 'watch-s-')), await mkdtemp(join(tmpdir(), 'watch-c-'))];
    let calls = 0;
    const watch = watchConfigDirs([scopes, clients], () => { calls += 1; }, { log: createLogger('silent'), debounceMs: 150 });
    try {
      await writeFile(join(scopes, 'crm.yaml'), 'a');
      await writeFile(join(clients, 'agent.yaml'), 'b');
      await writeFile(join(scopes, 'crm.yaml'), 'c');
      await expect.poll(() => calls, { timeout: 3000 }).toBe(1);
      await new Promise((r) => setTimeout(r, 300));
      expect(calls).toBe(1);
    } finally {
      watch.close();
    }
    await writeFile(join(scopes, 'crm.yaml'), 'd');
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(1);
  });
});
