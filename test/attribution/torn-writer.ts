/**
 * Child process for the torn-tail test: runs under a file-size limit (prlimit --fsize), so that copying a
 * torn tail aside fails part-way (EFBIG) as on a full disk, and appends `count` records one after another,
 * each failing. Prints how many appends failed.
 */
import { JsonlFileSink } from '../../src/attribution/jsonl-file-sink.js';
import { makeRecord } from './helpers.js';

process.on('SIGXFSZ', () => undefined); // a write past the limit then fails with EFBIG instead of killing us

const file = process.argv[2];
const count = Number(process.argv[3] ?? '10');
if (file === undefined) throw new Error('usage: torn-writer <file> <count>');
const sink = new JsonlFileSink(file, { onRecovery: () => undefined });
let failed = 0;
for (let i = 1; i <= count; i += 1) {
  try {
    await sink.append(makeRecord(i));
  } catch {
    failed += 1;
  }
  await new Promise((resolve) => setTimeout(resolve, 2)); // another millisecond: another name before the fix
}
process.stdout.write(`${String(failed)}\n`);
