import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonlFileSink, type RecoveryEvent } from '../../src/attribution/jsonl-file-sink.js';
import { verifyLog } from '../../src/attribution/verify.js';
import { makeRecord, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => cleanup());

const writer = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

/** Runs the writer until it has acknowledged `atLeast` records, then SIGKILLs it; returns the acknowledged ids. */
function runAndKill(file: string, atLeast: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, file], { stdio: ['ignore', 'pipe', 'pipe'] });
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
});
