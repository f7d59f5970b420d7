/**
 * A torn tail produces at most one aside file per recovery (issue 14 item 5): before, every failed batch on
 * a full disk left another `.torn-*` file (2,201 in 8 s). The disk is made "full" for a child process with
 * a real file-size limit (prlimit --fsize), so copying the torn bytes aside fails part-way as ENOSPC would.
 */
import { execFile } from 'node:child_process';
import { appendFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonlFileSink, type RecoveryEvent } from '../../src/attribution/jsonl-file-sink.js';
import { verifyLog } from '../../src/attribution/verify.js';
import { makeRecord, tempDir } from './helpers.js';

const run = promisify(execFile);
const writer = fileURLToPath(new URL('./torn-writer.ts', import.meta.url));
const hasPrlimit = await run('prlimit', ['--version']).then(() => true, () => false);

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => cleanup());

const asides = async (): Promise<string[]> => (await readdir(dir)).filter((n) => n.includes('.torn-')).sort();

describe.runIf(hasPrlimit)('torn tail aside files', () => {
  it('20 failing batches over one torn tail leave no aside file; the recovery that succeeds leaves exactly one, with the torn bytes', async () => {
    const file = join(dir, 'attribution.jsonl');
    const first = new JsonlFileSink(file);
    for (let i = 1; i <= 3; i += 1) await first.append(makeRecord(i));
    await first.close();
    const torn = `{"v":1,"type":"token_exchange","id":"torn","pad":"${'x'.repeat(8000)}`; // a crash mid-write
    await appendFile(file, torn);

    const { stdout } = await run('prlimit', ['--fsize=4096', process.execPath, '--import', 'tsx', writer, file, '20'], { cwd: process.cwd() });
    expect(stdout.trim()).toBe('20'); // every batch failed: the torn bytes could not be kept aside
    expect(await asides()).toEqual([]);

    const events: RecoveryEvent[] = [];
    const sink = new JsonlFileSink(file, { onRecovery: (e) => events.push(e) });
    await sink.append(makeRecord(4));
    await sink.close();
    expect(events.map((e) => e.kind)).toEqual(['torn_tail']);
    expect(await asides()).toHaveLength(1);
    await expect(readFile(events[0]!.savedTo, 'utf8')).resolves.toBe(torn);
    await expect(verifyLog(await readFile(file, 'utf8'), { keys: [] })).resolves.toMatchObject({ ok: true, records: 4 });
  });
});
