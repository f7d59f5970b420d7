import { constants } from 'node:fs';
import { appendFile, mkdir, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChainedLine } from '../../src/attribution/chain.js';
import { JsonlFileSink, type RecoveryEvent } from '../../src/attribution/jsonl-file-sink.js';
import { userPseudonym } from '../../src/attribution/redact.js';
import { AttributionUnavailableError } from '../../src/attribution/sink.js';
import { verifyLog } from '../../src/attribution/verify.js';
import { makeRecord, tempDir, testSigner } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => cleanup());

async function readLines(file: string): Promise<ChainedLine[]> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as ChainedLine);
}

describe('JsonlFileSink chaining', () => {
  it('chains every record; concurrent appends are group-committed and all resolve durable', async () => {
    const file = join(dir, 'a', 'log.jsonl');
    const sink = new JsonlFileSink(file);
    await Promise.all(Array.from({ length: 200 }, (_, i) => sink.append(makeRecord(i + 1))));
    expect(sink.head?.seq).toBe(200);
    // Appended in one turn: one batch, one synchronous write.
    expect(sink.written).toEqual({ writes: 1, records: 200 });
    const lines = await readLines(file);
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(new Set(lines.map((l) => (l.type === 'token_exchange' ? l.id : ''))).size).toBe(200);
    await sink.close();
    await expect(verifyLog(await readFile(file, 'utf8'), { keys: [] })).resolves.toMatchObject({ ok: true, records: 200, checkpoints: 0, unproven: 200 });
    await expect(sink.append(makeRecord(999))).rejects.toBeInstanceOf(AttributionUnavailableError);
  });

  it('continues the chain across restarts', async () => {
    const file = join(dir, 'log.jsonl');
    const signer = await testSigner();
    for (let run = 0; run < 3; run++) {
      const sink = new JsonlFileSink(file, { signer, checkpointEveryRecords: 4, checkpointEverySeconds: 0 });
      for (let i = 1; i <= 5; i++) await sink.append(makeRecord(run * 10 + i));
      await sink.close();
    }
    const lines = await readLines(file);
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    const result = await verifyLog(await readFile(file, 'utf8'), { keys: [signer.publicJwk], requireCheckpointedEnd: true });
    // Each run: 4 records, checkpoint, 1 record, final checkpoint at close.
    expect(result).toMatchObject({ ok: true, records: 15, checkpoints: 6, unproven: 0 });
  });

  it('after a crash (no final checkpoint) the restarted sink checkpoints the unproven records on its timer', async () => {
    const file = join(dir, 'log.jsonl');
    const signer = await testSigner();
    const crashed = new JsonlFileSink(file, { signer, checkpointEverySeconds: 0 });
    await crashed.append(makeRecord(1));
    // No close: simulate a process killed here. A new sink takes over the file.
    const sink = new JsonlFileSink(file, { signer, checkpointEverySeconds: 0.05 });
    await sink.append(makeRecord(2));
    await new Promise((r) => setTimeout(r, 200));
    const lines = await readLines(file);
    expect(lines.at(-1)).toMatchObject({ type: 'checkpoint', count: 2 });
    const timerCheckpoints = lines.filter((l) => l.type === 'checkpoint').length;
    expect(timerCheckpoints).toBe(1); // no further checkpoints without new records
    await sink.close();
    expect((await readLines(file)).length).toBe(3); // nothing new to cover at close
    await expect(verifyLog(await readFile(file, 'utf8'), { keys: [signer.publicJwk], requireCheckpointedEnd: true })).resolves.toMatchObject({ ok: true });
  });
});

/** The open flags of every descriptor this process holds on `file` (Linux: /proc/self/fdinfo). */
async function openFlags(file: string): Promise<number[]> {
  const flags: number[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target !== file) continue;
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
    const octal = /^flags:\s+([0-7]+)$/mu.exec(info)?.[1];
    if (octal !== undefined) flags.push(Number.parseInt(octal, 8));
  }
  return flags;
}

describe.runIf(process.platform === 'linux')('JsonlFileSink durability mode (Linux /proc)', () => {
  const SYNCED_APPEND = constants.O_DSYNC | constants.O_APPEND;

  it('writes the active file through one O_APPEND | O_DSYNC descriptor, also after a rotation', async () => {
    const file = join(dir, 'log.jsonl');
    const sink = new JsonlFileSink(file, { rotate: { maxBytes: 2000 } });
    await sink.append(makeRecord(1));
    const first = await openFlags(file);
    expect(first).toHaveLength(1);
    expect((first[0] ?? 0) & SYNCED_APPEND).toBe(SYNCED_APPEND);

    for (let i = 2; i <= 12; i++) await sink.append(makeRecord(i)); // passes maxBytes: rotated at least once
    expect((await readdir(dir)).filter((f) => f !== 'log.jsonl').length).toBeGreaterThan(0);
    const rotated = await openFlags(file);
    expect(rotated).toHaveLength(1);
    expect((rotated[0] ?? 0) & SYNCED_APPEND).toBe(SYNCED_APPEND);
    await sink.close();
    expect(await openFlags(file)).toEqual([]);
  });
});

describe('JsonlFileSink torn tail and old files', () => {
  it('a torn final line fails verify; on restart it is cut, kept aside, reported, and the chain continues', async () => {
    const file = join(dir, 'log.jsonl');
    const first = new JsonlFileSink(file);
    for (let i = 1; i <= 3; i++) await first.append(makeRecord(i));
    await first.close();
    const torn = '{"v":1,"type":"token_exchange","id":"torn';
    await appendFile(file, torn);
    const before = await verifyLog(await readFile(file, 'utf8'), { keys: [] });
    expect(before).toMatchObject({ ok: false, line: 4, problem: expect.stringContaining('torn final line') as string });

    const events: RecoveryEvent[] = [];
    const sink = new JsonlFileSink(file, { onRecovery: (e) => events.push(e) });
    await sink.append(makeRecord(4));
    await sink.close();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'torn_tail', bytes: torn.length });
    await expect(readFile(events[0]!.savedTo, 'utf8')).resolves.toBe(torn);
    const lines = await readLines(file);
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3, 4]);
    await expect(verifyLog(await readFile(file, 'utf8'), { keys: [] })).resolves.toMatchObject({ ok: true, records: 4 });
  });

  it('a file of unchained records is moved aside and a new chain starts', async () => {
    const file = join(dir, 'log.jsonl');
    const legacy = `${JSON.stringify(makeRecord(1))}\n`;
    await writeFile(file, legacy);
    const events: RecoveryEvent[] = [];
    const sink = new JsonlFileSink(file, { onRecovery: (e) => events.push(e) });
    await sink.append(makeRecord(2));
    await sink.close();
    expect(events).toMatchObject([{ kind: 'unchained_file' }]);
    await expect(readFile(events[0]!.savedTo, 'utf8')).resolves.toBe(legacy);
    expect(await readLines(file)).toMatchObject([{ seq: 1, id: 'rec-2' }]);
  });

  it('refuses to continue a log whose last complete line is damaged', async () => {
    const file = join(dir, 'log.jsonl');
    const first = new JsonlFileSink(file);
    await first.append(makeRecord(1));
    await first.close();
    await appendFile(file, 'garbage\n');
    const sink = new JsonlFileSink(file);
    await expect(sink.append(makeRecord(2))).rejects.toThrow(/not JSON/u);
    await sink.close();
  });
});

describe('JsonlFileSink failure and recovery', () => {
  it('when the log path is a directory, append rejects; after the path is fixed, appends succeed and the chain continues', async () => {
    const file = join(dir, 'log.jsonl');
    const sink = new JsonlFileSink(file);
    await sink.append(makeRecord(1));
    await sink.close();

    await rm(file);
    await mkdir(file); // the path can no longer be opened as a file
    const broken = new JsonlFileSink(file);
    const failure = broken.append(makeRecord(2));
    await expect(failure).rejects.toBeInstanceOf(AttributionUnavailableError);
    await expect(failure).rejects.toThrow(`cannot write attribution records to ${file}`);
    await expect(broken.append(makeRecord(3))).rejects.toBeInstanceOf(AttributionUnavailableError);

    await rm(file, { recursive: true });
    expect(broken.written).toEqual({ writes: 0, records: 0 }); // rejected batches are not counted
    await broken.append(makeRecord(4));
    await broken.append(makeRecord(5));
    expect(broken.written).toEqual({ writes: 2, records: 2 });
    await broken.close();
    expect((await readLines(file)).map((l) => [l.seq, l.type === 'token_exchange' ? l.id : ''])).toEqual([[1, 'rec-4'], [2, 'rec-5']]);
  });

  it('when the parent of the log path is a file, append rejects with the cause; fixing the path makes it work', async () => {
    const parent = join(dir, 'logs');
    await writeFile(parent, 'not a directory');
    const file = join(parent, 'log.jsonl');
    const sink = new JsonlFileSink(file);
    const err: unknown = await sink.append(makeRecord(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AttributionUnavailableError);
    expect((err as Error).cause).toMatchObject({ code: expect.stringMatching(/^(EEXIST|ENOTDIR)$/u) as string });
    await rm(parent);
    await sink.append(makeRecord(2));
    await sink.close();
    expect(await readLines(file)).toMatchObject([{ seq: 1, id: 'rec-2' }]);
    expect(await readdir(parent)).toEqual(['log.jsonl']);
  });
});

describe('JsonlFileSink checkpoints and privacy', () => {
  it('checkpoints every N records inside the same batch, and closes with a final checkpoint', async () => {
    const file = join(dir, 'log.jsonl');
    const signer = await testSigner();
    const sink = new JsonlFileSink(file, { signer, checkpointEveryRecords: 3, checkpointEverySeconds: 0, now: () => new Date('2026-11-23T11:00:00Z') });
    await Promise.all(Array.from({ length: 7 }, (_, i) => sink.append(makeRecord(i + 1))));
    await sink.close();
    const lines = await readLines(file);
    expect(lines.map((l) => (l.type === 'checkpoint' ? `cp${l.count}` : 'r'))).toEqual(['r', 'r', 'r', 'cp3', 'r', 'r', 'r', 'cp7', 'r', 'cp9']);
    expect(lines[3]).toMatchObject({ kid: signer.kid, time: '2026-11-23T11:00:00.000Z', head: lines[2]!.hash });
    await expect(verifyLog(await readFile(file, 'utf8'), { keys: [signer.publicJwk], requireCheckpointedEnd: true })).resolves.toMatchObject({ ok: true, records: 7, checkpoints: 3 });
  });

  it("redactUsers 'hash' stores an HMAC pseudonym instead of the user's sub, before chaining", async () => {
    const file = join(dir, 'log.jsonl');
    const key = 'k'.repeat(32);
    const sink = new JsonlFileSink(file, { redactUsers: 'hash', redactionKey: key });
    await sink.append(makeRecord(1));
    await sink.close();
    const text = await readFile(file, 'utf8');
    const sub = makeRecord(1).user!.sub;
    expect(text).not.toContain(`"sub":"${sub}"`);
    const [line] = await readLines(file);
    expect(line).toMatchObject({ user: { iss: 'https://idp.example', sub: userPseudonym(key, 'https://idp.example', sub) } });
    expect(userPseudonym(key, 'https://idp.example', sub)).toMatch(/^hmac-sha256:[A-Za-z0-9_-]{43}$/u);
    expect(userPseudonym('x'.repeat(32), 'https://idp.example', sub)).not.toBe(userPseudonym(key, 'https://idp.example', sub));
    await expect(verifyLog(text, { keys: [] })).resolves.toMatchObject({ ok: true });
  });

  it("redactUsers 'hash' without a long enough key is a configuration error", () => {
    expect(() => new JsonlFileSink(join(dir, 'x.jsonl'), { redactUsers: 'hash' })).toThrow(/redactionKey/u);
    expect(() => new JsonlFileSink(join(dir, 'x.jsonl'), { redactUsers: 'hash', redactionKey: 'short' })).toThrow(/16 bytes/u);
  });
});
