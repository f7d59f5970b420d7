import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/attribution/canonical-json.js';
import { hashOf, signCheckpoint, type ChainedLine } from '../../src/attribution/chain.js';
import { JsonlFileSink } from '../../src/attribution/jsonl-file-sink.js';
import { verifyLog, type VerifyFailure } from '../../src/attribution/verify.js';
import { makeRecord, tempDir, testSigner } from './helpers.js';

type Signer = Awaited<ReturnType<typeof testSigner>>;

let signer: Signer;
let text: string;
let lines: string[];
let cleanup: () => Promise<void>;

/** 12 records with a checkpoint every 5 and a final one at close: 15 lines, checkpoints at seq 6, 12, 15. */
beforeAll(async () => {
  const t = await tempDir();
  cleanup = t.cleanup;
  signer = await testSigner();
  const file = join(t.dir, 'log.jsonl');
  const sink = new JsonlFileSink(file, { signer, checkpointEveryRecords: 5, checkpointEverySeconds: 0 });
  for (let i = 1; i <= 12; i++) await sink.append(makeRecord(i));
  await sink.close();
  text = await readFile(file, 'utf8');
  lines = text.slice(0, -1).split('\n');
});
afterAll(async () => cleanup());

const join_ = (ls: readonly string[]): string => `${ls.join('\n')}\n`;
const parse = (line: string): ChainedLine => JSON.parse(line) as ChainedLine;
/** The line without its hash, recomputed: what someone without the key can produce. */
function rehash(body: object): string {
  const copy: Record<string, unknown> = { ...body };
  delete copy.hash;
  return canonicalJson({ ...copy, hash: hashOf(copy) });
}
const keys = (): { keys: [Signer['publicJwk']] } => ({ keys: [signer.publicJwk] });

async function failure(log: string, opts: Parameters<typeof verifyLog>[1] = keys()): Promise<VerifyFailure> {
  const result = await verifyLog(log, opts);
  if (result.ok) throw new Error(`expected verification to fail, got ${JSON.stringify(result)}`);
  return result;
}

/** Re-chains lines from `from` on (what an attacker without the key can do after editing). */
function rechain(ls: string[], from: number): string[] {
  const out = [...ls];
  for (let i = from; i < out.length; i++) {
    const line = parse(out[i]!);
    const prev = i === 0 ? line.prev : parse(out[i - 1]!).hash;
    out[i] = rehash({ ...line, seq: i + 1, prev, ...(line.type === 'checkpoint' ? { head: prev, count: i } : {}) });
  }
  return out;
}

describe('verifyLog', () => {
  it('verifies the untouched log, as a string and as arbitrary chunks', async () => {
    expect(lines).toHaveLength(15);
    expect(lines.map((l) => parse(l).type)).toEqual(
      ['token_exchange', 'token_exchange', 'token_exchange', 'token_exchange', 'token_exchange', 'checkpoint',
        'token_exchange', 'token_exchange', 'token_exchange', 'token_exchange', 'token_exchange', 'checkpoint',
        'token_exchange', 'token_exchange', 'checkpoint'],
    );
    const expected = { ok: true, records: 12, checkpoints: 3, unproven: 0, head: { seq: 15, hash: parse(lines[14]!).hash } };
    await expect(verifyLog(text, keys())).resolves.toMatchObject(expected);
    async function* chunks(): AsyncGenerator<string> {
      for (let i = 0; i < text.length; i += 37) {
        await Promise.resolve();
        yield text.slice(i, i + 37);
      }
    }
    await expect(verifyLog(chunks(), keys())).resolves.toMatchObject(expected);
  });

  it('an empty log verifies with nothing in it', async () => {
    await expect(verifyLog('', keys())).resolves.toMatchObject({ ok: true, records: 0, checkpoints: 0 });
  });

  it('detects one changed byte in a record and names its line', async () => {
    const ls = [...lines];
    ls[7] = ls[7]!.replace('"rec-7"', '"rec-9"'); // one byte: 7 -> 9
    expect(ls[7]).not.toBe(lines[7]);
    await expect(failure(join_(ls))).resolves.toMatchObject({ line: 8, seq: 8, problem: expect.stringContaining('edited') as string });
  });

  it('detects a changed byte that breaks the JSON, and one in the hash itself', async () => {
    const broken = [...lines];
    broken[2] = `${broken[2]!.slice(0, 10)}\u0000${broken[2]!.slice(11)}`;
    await expect(failure(join_(broken))).resolves.toMatchObject({ line: 3 });
    const hashEdit = [...lines];
    const h = parse(lines[3]!).hash;
    hashEdit[3] = lines[3]!.replace(h, `${h.slice(0, -1)}${h.endsWith('A') ? 'B' : 'A'}`);
    await expect(failure(join_(hashEdit))).resolves.toMatchObject({ line: 4, seq: 4 });
  });

  it('detects an edited record whose chain was recomputed up to the end: the next checkpoint signature fails', async () => {
    const ls = [...lines];
    ls[1] = canonicalJson({ ...parse(ls[1]!), reason: 'forged' });
    const rewritten = rechain(ls, 1);
    await expect(failure(join_(rewritten))).resolves.toMatchObject({ line: 6, seq: 6, problem: expect.stringContaining('forged checkpoint') as string });
  });

  it('detects a deleted record', async () => {
    const ls = lines.filter((_, i) => i !== 3);
    await expect(failure(join_(ls))).resolves.toMatchObject({ line: 4, seq: 5, problem: expect.stringContaining('missing') as string });
  });

  it('detects two swapped records', async () => {
    const ls = [...lines];
    [ls[8], ls[9]] = [ls[9]!, ls[8]!];
    await expect(failure(join_(ls))).resolves.toMatchObject({ line: 9, seq: 10 });
  });

  it('detects a duplicated (replayed) record', async () => {
    const ls = [...lines.slice(0, 4), lines[3]!, ...lines.slice(4)];
    await expect(failure(join_(ls))).resolves.toMatchObject({ line: 5, seq: 4, problem: expect.stringContaining('reordered or duplicated') as string });
  });

  it('a torn final line (cut mid-line) fails and is named', async () => {
    const cut = text.slice(0, text.length - 40);
    await expect(failure(cut)).resolves.toMatchObject({ line: 15, problem: expect.stringContaining('torn final line') as string });
  });

  it('a tail cut after a checkpoint: unproven records are reported, and fail in strict mode', async () => {
    const ls = lines.slice(0, 14); // final checkpoint (seq 15) removed
    await expect(verifyLog(join_(ls), keys())).resolves.toMatchObject({ ok: true, records: 12, unproven: 2, lastCheckpoint: { seq: 12 } });
    await expect(failure(join_(ls), { ...keys(), requireCheckpointedEnd: true })).resolves.toMatchObject({
      line: 13,
      problem: expect.stringContaining('not covered by a signature') as string,
    });
  });

  it('a tail cut back to a checkpoint is detected against a head recorded elsewhere', async () => {
    const head = { seq: 15, hash: parse(lines[14]!).hash };
    await expect(verifyLog(text, { ...keys(), expectHead: head })).resolves.toMatchObject({ ok: true });
    const ls = lines.slice(0, 12);
    await expect(verifyLog(join_(ls), keys())).resolves.toMatchObject({ ok: true, unproven: 0 }); // undetectable alone
    await expect(failure(join_(ls), { ...keys(), expectHead: head })).resolves.toMatchObject({
      line: 13,
      problem: expect.stringContaining('truncated') as string,
    });
  });

  it('detects a checkpoint forged with another key (same kid)', async () => {
    const attacker = await testSigner(signer.kid);
    const ls = [...lines];
    const prev = parse(ls[4]!);
    ls[5] = canonicalJson(await signCheckpoint({ seq: prev.seq, hash: prev.hash }, attacker, new Date()));
    const rewritten = rechain(ls, 6);
    await expect(failure(join_(rewritten))).resolves.toMatchObject({ line: 6, seq: 6, problem: expect.stringContaining('bad signature') as string });
  });

  it('detects a checkpoint signed by an unknown key', async () => {
    const other = await testSigner();
    await expect(failure(text, { keys: [other.publicJwk] })).resolves.toMatchObject({ line: 6, problem: expect.stringContaining('forged checkpoint') as string });
  });

  it('detects a genuinely signed checkpoint whose head is wrong', async () => {
    const ls = [...lines];
    // Signed with the real key but over a head that is not the line before it.
    const cp = await signCheckpoint({ seq: 5, hash: parse(lines[2]!).hash }, signer, new Date());
    ls[5] = rehash({ ...cp, prev: parse(lines[4]!).hash });
    await expect(failure(join_(rechain(ls, 6)))).resolves.toMatchObject({ line: 6, problem: expect.stringContaining('head is not the hash') as string });
  });

  it('detects a checkpoint whose fields were altered after signing', async () => {
    const ls = [...lines];
    ls[5] = rehash({ ...parse(ls[5]!), time: '2020-01-01T00:00:00.000Z' });
    await expect(failure(join_(rechain(ls, 6)))).resolves.toMatchObject({ line: 6, problem: expect.stringContaining('bad signature') as string });
  });

  it('detects a line rewritten in a non-canonical form (same JSON value, different bytes)', async () => {
    const ls = [...lines];
    ls[0] = JSON.stringify(parse(ls[0]!), null, 1).replace(/\n/gu, '');
    await expect(failure(join_(ls))).resolves.toMatchObject({ line: 1, problem: expect.stringContaining('canonical') as string });
  });
});
