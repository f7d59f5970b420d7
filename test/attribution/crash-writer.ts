/**
 * Child process for the crash-safety test: appends records to a file sink from many concurrent workers
 * and prints each record id on stdout once its append has resolved (durable). The test SIGKILLs it.
 * With a second argument the sink rotates its file at that many bytes.
 */
import { JsonlFileSink } from '../../src/attribution/jsonl-file-sink.js';
import { makeRecord } from './helpers.js';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: crash-writer <file> [rotate-max-bytes]');
const maxBytes = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const sink = new JsonlFileSink(file, maxBytes === undefined ? {} : { rotate: { maxBytes } });
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
