/**
 * Child process for the crash-safety test: appends records to a file sink from many concurrent workers
 * and prints each record id on stdout once its append has resolved (durable). The test SIGKILLs it.
 */
import { JsonlFileSink } from '../../src/attribution/jsonl-file-sink.js';
import { makeRecord } from './helpers.js';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: crash-writer <file>');
const sink = new JsonlFileSink(file);
let next = 1;

async function worker(): Promise<void> {
  for (;;) {
    const i = next++;
    const record = { ...makeRecord(i), id: `crash-${i}` };
    await sink.append(record);
    process.stdout.write(`${record.id}\n`);
  }
}

process.stdout.write('ready\n');
await Promise.all(Array.from({ length: 16 }, worker));
