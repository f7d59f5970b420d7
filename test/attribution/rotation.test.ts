import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChainedLine } from '../../src/attribution/chain.js';
import { JsonlFileSink, type RecoveryEvent, type RotationEvent } from '../../src/attribution/jsonl-file-sink.js';
import { chainFiles, parseRotatedName, resolveLogPaths, rotatedFiles, rotatedPath } from '../../src/attribution/log-files.js';
import { queryChain, queryLog } from '../../src/attribution/query.js';
import { verifyLogFiles, type VerifyFailure } from '../../src/attribution/verify.js';
import { makeRecord, tempDir, testSigner } from './helpers.js';

type Signer = Awaited<ReturnType<typeof testSigner>>;

let dir: string;
let cleanup: () => Promise<void>;
let signer: Signer;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  signer = await testSigner();
});
afterEach(async () => cleanup());

async function linesOf(file: string): Promise<ChainedLine[]> {
  return (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as ChainedLine);
}

/** 40 records through a sink rotating at 3 KB: several rotated files and an active one. */
async function rotatedLog(file: string, extra: Partial<ConstructorParameters<typeof JsonlFileSink>[1]> = {}): Promise<RotationEvent[]> {
  const events: RotationEvent[] = [];
  const sink = new JsonlFileSink(file, { signer, checkpointEverySeconds: 0, rotate: { maxBytes: 3000 }, onRotation: (e) => events.push(e), ...extra });
  for (let i = 1; i <= 40; i++) await sink.append(makeRecord(i));
  await sink.close();
  return events;
}

async function failure(files: readonly string[], opts: Parameters<typeof verifyLogFiles>[1] = { keys: [signer.publicJwk] }): Promise<VerifyFailure> {
  const result = await verifyLogFiles(files, opts);
  if (result.ok) throw new Error(`expected verification to fail, got ${JSON.stringify(result)}`);
  return result;
}

describe('rotated file names', () => {
  it('encode the UTC time and the last seq, sort by seq, and parse back', () => {
    const path = rotatedPath('/var/log/attribution.jsonl', new Date('2026-11-23T12:00:01.234Z'), 1001);
    expect(path).toBe('/var/log/attribution-20261123T120001234Z-000000001001.jsonl');
    expect(parseRotatedName(basename(path))).toEqual({ stem: 'attribution', ext: '.jsonl', lastSeq: 1001 });
    expect(parseRotatedName('attribution.jsonl')).toBeUndefined();
    expect(parseRotatedName('attribution.jsonl.torn-1700000000000')).toBeUndefined();
  });
});

describe('JsonlFileSink rotation by size', () => {
  it('rotates once the file reaches maxBytes; each rotated file ends sealed by a checkpoint, is read-only, and the chain runs on', async () => {
    const file = join(dir, 'attribution.jsonl');
    const events = await rotatedLog(file);
    const rotated = await rotatedFiles(file);
    expect(rotated.length).toBeGreaterThanOrEqual(3);
    expect(events.map((e) => e.rotatedTo)).toEqual(rotated);
    const files = await chainFiles(file);
    expect(files).toEqual([...rotated, file]);

    let previous: ChainedLine | undefined;
    for (const [index, path] of files.entries()) {
      const lines = await linesOf(path);
      expect(lines.length).toBeGreaterThan(0);
      if (previous) expect(lines[0]).toMatchObject({ seq: previous.seq + 1, prev: previous.hash });
      previous = lines.at(-1);
      if (index < rotated.length) {
        expect(previous).toMatchObject({ type: 'checkpoint' });
        expect(parseRotatedName(basename(path))?.lastSeq).toBe(previous?.seq);
        expect(events[index]?.head).toEqual({ seq: previous?.seq, hash: previous?.hash });
        expect((await stat(path)).mode & 0o777).toBe(0o400);
        // Reached maxBytes before the next batch, by less than one batch (one record here).
        expect(events[index]?.bytes).toBeGreaterThanOrEqual(3000);
      }
    }
    await expect(verifyLogFiles(files, { keys: [signer.publicJwk], requireCheckpointedEnd: true }))
      .resolves.toMatchObject({ ok: true, records: 40, files: files.length, unproven: 0 });
  });

  it('without a signer it still rotates and the chain verifies (no checkpoints)', async () => {
    const file = join(dir, 'attribution.jsonl');
    const sink = new JsonlFileSink(file, { rotate: { maxBytes: 2000 } });
    for (let i = 1; i <= 20; i++) await sink.append(makeRecord(i));
    await sink.close();
    const files = await chainFiles(file);
    expect(files.length).toBeGreaterThan(2);
    await expect(verifyLogFiles(files, { keys: [] })).resolves.toMatchObject({ ok: true, records: 20, checkpoints: 0 });
  });

  it('never rotates without a policy', async () => {
    const file = join(dir, 'attribution.jsonl');
    const sink = new JsonlFileSink(file);
    for (let i = 1; i <= 40; i++) await sink.append(makeRecord(i));
    await sink.close();
    expect(await readdir(dir)).toEqual(['attribution.jsonl']);
  });
});

describe('JsonlFileSink rotation by age', () => {
  it('rotates before the first write once the first line is maxAgeSeconds old', async () => {
    const file = join(dir, 'attribution.jsonl');
    let now = Date.parse('2026-11-23T00:00:00Z');
    const sink = new JsonlFileSink(file, { signer, checkpointEverySeconds: 0, rotate: { maxAgeSeconds: 3600 }, now: () => new Date(now) });
    await sink.append(makeRecord(1)); // record times are in the file; the age counts from when the first line was written
    now += 3599_000;
    await sink.append(makeRecord(2));
    expect(await rotatedFiles(file)).toEqual([]);
    now += 1000;
    await sink.append(makeRecord(3));
    await sink.close();
    const rotated = await rotatedFiles(file);
    expect(rotated.map((f) => basename(f))).toEqual(['attribution-20261123T010000000Z-000000000003.jsonl']);
    expect((await linesOf(rotated[0]!)).map((l) => l.type)).toEqual(['token_exchange', 'token_exchange', 'checkpoint']);
    expect((await linesOf(file)).map((l) => l.seq)).toEqual([4, 5]);
  });

  it('after a restart the age counts from the time of the first line in the file', async () => {
    const file = join(dir, 'attribution.jsonl');
    const first = new JsonlFileSink(file, { now: () => new Date('2026-11-23T00:00:00Z') });
    await first.append({ ...makeRecord(1), time: '2026-11-23T00:00:00.000Z' });
    await first.close();
    const second = new JsonlFileSink(file, { rotate: { maxAgeSeconds: 60 }, now: () => new Date('2026-11-23T00:01:00Z') });
    await second.append(makeRecord(2));
    await second.close();
    expect((await rotatedFiles(file)).map((f) => basename(f))).toEqual(['attribution-20261123T000100000Z-000000000001.jsonl']);
  });
});

describe('JsonlFileSink restart with rotated files', () => {
  it('continues the chain from the newest rotated file when the active file is missing (crash after the rename)', async () => {
    const file = join(dir, 'attribution.jsonl');
    await rotatedLog(file);
    const last = (await linesOf(file)).at(-1)!;
    // Simulate a crash right after rotation's rename: the active file has been renamed, no new one yet.
    const rotated = rotatedPath(file, new Date('2030-01-01T00:00:00Z'), last.seq);
    await rename(file, rotated);
    const events: RecoveryEvent[] = [];
    const sink = new JsonlFileSink(file, { signer, checkpointEverySeconds: 0, rotate: { maxBytes: 3000 }, onRecovery: (e) => events.push(e) });
    await sink.append(makeRecord(99));
    await sink.close();
    expect((await linesOf(file))[0]).toMatchObject({ seq: last.seq + 1, prev: last.hash, id: 'rec-99' });
    // Reported, because deleting the active file looks the same to the chain.
    expect(events).toEqual([expect.objectContaining({ kind: 'active_file_missing', path: file, savedTo: rotated, bytes: 0 })]);
    expect(events[0]?.message).toContain(`seq ${last.seq + 1}`);
    await expect(verifyLogFiles(await chainFiles(file), { keys: [signer.publicJwk], requireCheckpointedEnd: true })).resolves.toMatchObject({ ok: true, records: 41 });
  });

  it('continues from an empty active file, and from a non-empty one', async () => {
    const file = join(dir, 'attribution.jsonl');
    await rotatedLog(file);
    const last = (await linesOf(file)).at(-1)!;
    await rename(file, rotatedPath(file, new Date('2030-01-01T00:00:00Z'), last.seq));
    await writeFile(file, '');
    const events: RecoveryEvent[] = [];
    for (let run = 0; run < 2; run++) {
      const sink = new JsonlFileSink(file, { signer, checkpointEverySeconds: 0, onRecovery: (e) => events.push(e) });
      await sink.append(makeRecord(100 + run));
      await sink.close();
    }
    expect((await linesOf(file)).map((l) => l.seq)).toEqual([last.seq + 1, last.seq + 2, last.seq + 3, last.seq + 4]);
    expect(events).toEqual([]); // an empty active file is what a completed rotation leaves: nothing to report
    await expect(verifyLogFiles(await chainFiles(file), { keys: [signer.publicJwk], requireCheckpointedEnd: true })).resolves.toMatchObject({ ok: true, records: 42 });
  });

  it('refuses to continue when the newest rotated file does not end in a chained line', async () => {
    const file = join(dir, 'attribution.jsonl');
    await writeFile(rotatedPath(file, new Date('2030-01-01T00:00:00Z'), 5), 'not json\n');
    const sink = new JsonlFileSink(file);
    await expect(sink.append(makeRecord(1))).rejects.toThrow(`attribution log ${rotatedPath(file, new Date('2030-01-01T00:00:00Z'), 5)}: its last complete line is not JSON; the log is damaged, run \`broker audit verify\``);
    await sink.close();
  });

  it('a failed rotation fails the batch (503) and the next batch rotates and succeeds', async () => {
    const file = join(dir, 'attribution.jsonl');
    let now = Date.parse('2026-11-23T00:00:00Z');
    const sink = new JsonlFileSink(file, { rotate: { maxBytes: 100 }, now: () => new Date(now) });
    await sink.append(makeRecord(1));
    // The rotation target name is taken: rotation must not overwrite it.
    const blocked = rotatedPath(file, new Date(now), 1);
    await writeFile(blocked, 'someone else\n');
    await expect(sink.append(makeRecord(2))).rejects.toThrow(`cannot rotate attribution log ${file}: ${blocked} already exists`);
    await expect(readFile(blocked, 'utf8')).resolves.toBe('someone else\n');
    now += 1;
    await rm(blocked);
    await sink.append(makeRecord(3));
    await sink.close();
    const files = await chainFiles(file);
    expect(files.map((f) => basename(f))).toEqual(['attribution-20261123T000000001Z-000000000001.jsonl', 'attribution.jsonl']);
    expect((await linesOf(file)).map((l) => [l.seq, l.type === 'token_exchange' ? l.id : ''])).toEqual([[2, 'rec-3']]);
    await expect(verifyLogFiles(files, { keys: [] })).resolves.toMatchObject({ ok: true, records: 2 });
  });
});

describe('verifyLogFiles across rotation boundaries', () => {
  it('names the file and line of an edited record in a rotated file', async () => {
    const file = join(dir, 'attribution.jsonl');
    await rotatedLog(file);
    const files = await chainFiles(file);
    const target = files[1]!;
    const text = await readFile(target, 'utf8');
    const second = text.split('\n')[1]!;
    const id = (JSON.parse(second) as { id: string }).id;
    await rm(target);
    await writeFile(target, text.replace(`"id":"${id}"`, '"id":"rec-x"'));
    expect(await failure(files)).toMatchObject({ file: target, line: 2, problem: 'hash does not match the line content: the record was edited' });
  });

  it('detects a missing rotated file at the first line of the next file', async () => {
    const file = join(dir, 'attribution.jsonl');
    await rotatedLog(file);
    const files = await chainFiles(file);
    const endOfFirst = (await linesOf(files[0]!)).at(-1)!.seq;
    const secondCount = (await linesOf(files[1]!)).length;
    const without = files.filter((_, i) => i !== 1);
    expect(await failure(without)).toEqual({
      ok: false,
      file: files[2],
      line: 1,
      seq: endOfFirst + secondCount + 1,
      problem: `seq ${endOfFirst + secondCount + 1} where ${endOfFirst + 1} was expected: ${secondCount} line(s) missing between ${files[0]} (ends at seq ${endOfFirst}) and this file: a rotated file is missing, or the files are out of order`,
    });
  });

  it('verifies what is left after retention removed the oldest files, anchored at the last removed line, and nothing else', async () => {
    const file = join(dir, 'attribution.jsonl');
    await rotatedLog(file);
    const files = await chainFiles(file);
    const removedLast = (await linesOf(files[1]!)).at(-1)!;
    const kept = files.slice(2);
    const anchor = { seq: removedLast.seq, hash: removedLast.hash };
    // Without an anchor the first kept line cannot be proven.
    expect((await failure(kept)).problem).toContain('anchor with --start-after');
    const lastLine = (await linesOf(files.at(-1)!)).at(-1)!;
    await expect(verifyLogFiles(kept, { keys: [signer.publicJwk], startAfter: anchor })).resolves.toMatchObject({ ok: true, head: { seq: lastLine.seq, hash: lastLine.hash } });
    // A wrong anchor (another hash, or a seq that leaves a gap) is refused at the first line.
    expect(await failure(kept, { keys: [signer.publicJwk], startAfter: { seq: anchor.seq, hash: 'A'.repeat(43) } })).toMatchObject({
      file: kept[0], line: 1, problem: `prev does not match the anchor ${anchor.seq}:${'A'.repeat(43)}: this log does not continue that chain`,
    });
    expect(await failure(kept, { keys: [signer.publicJwk], startAfter: { seq: anchor.seq - 1, hash: anchor.hash } })).toMatchObject({
      file: kept[0], line: 1, problem: `seq ${anchor.seq + 1} where ${anchor.seq} was expected: the log does not start right after the anchor ${anchor.seq - 1}:${anchor.hash}`,
    });
    // Tampering after the anchor is still found.
    const target = kept[0]!;
    const text = await readFile(target, 'utf8');
    await rm(target);
    expect(text).toContain('"decision":"granted"');
    await writeFile(target, text.replace('"decision":"granted"', '"decision":"denied"'));
    expect((await failure(kept, { keys: [signer.publicJwk], startAfter: anchor })).problem).toMatch(/edited|canonical/u);
  });

  it('detects rotated files given out of order', async () => {
    const file = join(dir, 'attribution.jsonl');
    await rotatedLog(file);
    const files = await chainFiles(file);
    const swapped = [files[1]!, files[0]!, ...files.slice(2)];
    const failed = await failure(swapped);
    expect(failed).toMatchObject({ file: files[1], line: 1 });
    expect(failed.problem).toMatch(/^seq \d+ where 1 was expected: \d+ line\(s\) missing here \(deleted, or reordered; if the log was rotated, include the earlier files, e.g. verify the directory; if older files were removed for retention, anchor with --start-after <seq:hash> of the last removed line\)$/u);
    const tailSwapped = [files[0]!, files[2]!, files[1]!, ...files.slice(3)];
    expect((await failure(tailSwapped)).problem).toContain('a rotated file is missing, or the files are out of order');
    const repeated = [files[0]!, files[1]!, files[1]!, ...files.slice(2)];
    expect(await failure(repeated)).toMatchObject({ file: files[1], line: 1, problem: expect.stringContaining(`this file does not follow ${files[1]!}`) as string });
  });

  it('detects a file from another chain spliced in (prev does not match)', async () => {
    const file = join(dir, 'attribution.jsonl');
    await rotatedLog(file);
    const other = join(dir, 'other', 'attribution.jsonl');
    await rotatedLog(other);
    const files = await chainFiles(file);
    const otherFiles = await chainFiles(other);
    // Same length, same seq numbers, different hashes.
    expect(await failure([files[0]!, otherFiles[1]!])).toMatchObject({
      file: otherFiles[1],
      line: 1,
      problem: `prev does not match the hash of the last line of ${files[0]!}: this file does not continue that chain`,
    });
  });

  it('reports a torn line in the middle of the list as such', async () => {
    const file = join(dir, 'attribution.jsonl');
    await rotatedLog(file);
    const files = await chainFiles(file);
    const text = await readFile(files[0]!, 'utf8');
    await rm(files[0]!);
    await writeFile(files[0]!, text.slice(0, -1));
    const lines = text.split('\n').length - 1;
    expect(await failure(files)).toMatchObject({ file: files[0], line: lines, problem: expect.stringContaining('torn final line') as string });
  });

  it('resolves a directory without rotated files to its one log, and refuses an ambiguous one', async () => {
    const file = join(dir, 'attribution.jsonl');
    const sink = new JsonlFileSink(file);
    await sink.append(makeRecord(1));
    await sink.close();
    await writeFile(`${file}.torn-1700000000000`, 'kept aside');
    expect(await resolveLogPaths([dir])).toEqual([file]);
    await writeFile(join(dir, 'other.jsonl'), '');
    await expect(resolveLogPaths([dir])).rejects.toThrow(`${dir}: expected one attribution log (*.jsonl), found attribution.jsonl, other.jsonl; name the files`);
    const empty = join(dir, 'empty');
    await mkdir(empty);
    await expect(resolveLogPaths([empty])).rejects.toThrow(`${empty}: expected one attribution log (*.jsonl), found none; name the files`);
  });

  it('resolves a directory to its chain in order, and refuses a directory of two chains', async () => {
    const file = join(dir, 'attribution.jsonl');
    await rotatedLog(file);
    expect(await resolveLogPaths([dir])).toEqual(await chainFiles(file));
    await writeFile(rotatedPath(join(dir, 'other.jsonl'), new Date(0), 1), '');
    await expect(resolveLogPaths([dir])).rejects.toThrow(`${dir}: holds the rotated files of several logs (attribution.jsonl, other.jsonl); name the files`);
  });
});

describe('query across rotated files', () => {
  it('returns matching records from every file in chain order', async () => {
    const file = join(dir, 'attribution.jsonl');
    await rotatedLog(file);
    const ids: string[] = [];
    for await (const r of queryChain(file, {})) ids.push(r.id);
    expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => `rec-${i + 1}`));
    const denied: string[] = [];
    for await (const r of queryLog(await chainFiles(file), { decision: 'denied' })) denied.push(r.id);
    expect(denied).toEqual(['rec-5', 'rec-10', 'rec-15', 'rec-20', 'rec-25', 'rec-30', 'rec-35', 'rec-40']);
  });

  it('queryChain over a log that does not exist yet yields nothing', async () => {
    const got: unknown[] = [];
    for await (const r of queryChain(join(dir, 'none', 'attribution.jsonl'), {})) got.push(r);
    expect(got).toEqual([]);
  });
});
