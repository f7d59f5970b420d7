import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonlFileSink, type RecoveryEvent } from '../../src/attribution/jsonl-file-sink.js';
import { chainFiles, rotatedFiles } from '../../src/attribution/log-files.js';
import { verifyLog, verifyLogFiles } from '../../src/attribution/verify.js';
import { makeRecord, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => cleanup());

const writer = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

/** Runs the writer until it has acknowledged `atLeast` records, then SIGKILLs it; returns the acknowledged ids. */
function runAndKill(file: string, atLeast: number, rotateMaxBytes?: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', writer, file, ...(rotateMaxBytes === undefined ? [] : [String(rotateMaxBytes)])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let buffer = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const id of parts) if (id !== 'ready') acked.push(id);
      if (acked.length >= atLeast && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`writer exited ${String(code)}: ${stderr}`));
    });
  });
}

describe('crash safety', () => {
  it('after SIGKILL during sustained appends, every acknowledged record is in the log and the chain verifies (or ends in a reported torn line)', async () => {
    const file = join(dir, 'log.jsonl');
    const acked = await runAndKill(file, 2000);
    expect(acked.length).toBeGreaterThanOrEqual(2000);

    const text = await readFile(file, 'utf8');
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    const inLog = new Set(complete.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { id: string }).id));
    expect(acked.filter((id) => !inLog.has(id))).toEqual([]);

    const result = await verifyLog(text, { keys: [] });
    if (text.endsWith('\n')) expect(result).toMatchObject({ ok: true, records: inLog.size });
    else expect(result).toMatchObject({ ok: false, line: inLog.size + 1, problem: expect.stringContaining('torn final line') as string });

    // A restarted sink reports any torn tail, continues the chain, and the log verifies.
    const events: RecoveryEvent[] = [];
    const sink = new JsonlFileSink(file, { onRecovery: (e) => events.push(e) });
    await sink.append(makeRecord(1));
    await sink.close();
    expect(events.length).toBe(text.endsWith('\n') ? 0 : 1);
    await expect(verifyLog(await readFile(file, 'utf8'), { keys: [] })).resolves.toMatchObject({ ok: true, records: inLog.size + 1 });
  }, 60_000);

  it('with rotation: after SIGKILL every acknowledged record is in some file, the files verify as one chain, and a restart continues from the newest file', async () => {
    const file = join(dir, 'log.jsonl');
    const acked = await runAndKill(file, 2000, 64 * 1024);
    const files = await chainFiles(file);
    expect((await rotatedFiles(file)).length).toBeGreaterThanOrEqual(5);

    const inLog = new Set<string>();
    let lastText = '';
    for (const path of files) {
      lastText = await readFile(path, 'utf8');
      const complete = lastText.slice(0, lastText.lastIndexOf('\n') + 1);
      for (const l of complete.split('\n')) if (l !== '') inLog.add((JSON.parse(l) as { id: string }).id);
    }
    expect(acked.filter((id) => !inLog.has(id))).toEqual([]);
    const result = await verifyLogFiles(files, { keys: [] });
    if (lastText.endsWith('\n') || lastText === '') expect(result).toMatchObject({ ok: true, records: inLog.size });
    else expect(result).toMatchObject({ ok: false, file: files.at(-1), problem: expect.stringContaining('torn final line') as string });

    const sink = new JsonlFileSink(file, { rotate: { maxBytes: 64 * 1024 }, onRecovery: () => undefined });
    await sink.append({ ...makeRecord(1), id: 'after-restart' });
    await sink.close();
    await expect(verifyLogFiles(await chainFiles(file), { keys: [] })).resolves.toMatchObject({ ok: true, records: inLog.size + 1 });
  }, 60_000);
});
