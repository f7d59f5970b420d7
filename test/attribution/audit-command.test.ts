import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonlFileSink } from '../../src/attribution/jsonl-file-sink.js';
import { chainFiles } from '../../src/attribution/log-files.js';
import { runAuditQuery, runAuditVerify } from '../../src/cli/audit-command.js';
import { makeRecord, tempDir, testSigner } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let file: string;
let keysDir: string;
let jwksFile: string;
let signer: Awaited<ReturnType<typeof testSigner>>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  signer = await testSigner();
  keysDir = join(dir, 'keys');
  await mkdir(keysDir);
  // The broker's key file layout: { jwk: <private JWK>, createdAt }.
  await writeFile(join(keysDir, `signing-${signer.kid}.json`), JSON.stringify({ jwk: { ...signer.privateJwk, use: 'sig' }, createdAt: 0 }));
  jwksFile = join(dir, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify({ keys: [signer.publicJwk] }));
  file = join(dir, 'log.jsonl');
  const sink = new JsonlFileSink(file, { signer, checkpointEveryRecords: 4, checkpointEverySeconds: 0 });
  for (let i = 1; i <= 10; i++) await sink.append(makeRecord(i));
  await sink.close();
});
afterEach(async () => cleanup());

function capture(): { lines: string[]; out: (line: string) => void } {
  const lines: string[] = [];
  return { lines, out: (line) => lines.push(line) };
}

describe('runAuditVerify', () => {
  it('exits 0 and summarises an untouched log, with keys from a keys directory or a JWKS file', async () => {
    const a = capture();
    expect(await runAuditVerify({ file, keysDir, out: a.out })).toBe(0);
    expect(a.lines).toEqual([expect.stringMatching(/^ok .*: 10 records, 3 checkpoints, head 13:[A-Za-z0-9_-]{43}, last checkpoint seq 13/u)]);
    const b = capture();
    expect(await runAuditVerify({ file, jwksFile, out: b.out, strict: true })).toBe(0);
  });

  it('exits 1 and names the line when the log was edited', async () => {
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"rec-3"', '"rec-8"'));
    const c = capture();
    expect(await runAuditVerify({ file, keysDir, out: c.out })).toBe(1);
    expect(c.lines).toEqual([expect.stringMatching(/^FAILED .* line 3 \(seq 3\): hash does not match/u)]);
  });

  it('warns about unproven records, and fails on them with strict', async () => {
    const lines = (await readFile(file, 'utf8')).split('\n');
    await writeFile(file, `${lines.slice(0, 12).join('\n')}\n`); // final checkpoint cut
    const c = capture();
    expect(await runAuditVerify({ file, keysDir, out: c.out })).toBe(0);
    expect(c.lines[1]).toMatch(/^warning: the last 2 records follow the last checkpoint/u);
    const d = capture();
    expect(await runAuditVerify({ file, keysDir, out: d.out, strict: true })).toBe(1);
    expect(d.lines[0]).toMatch(/line 11: 2 record\(s\)/u);
  });

  it('exits 2 when the file or keys cannot be read', async () => {
    const c = capture();
    expect(await runAuditVerify({ file: join(dir, 'missing.jsonl'), keysDir, out: c.out })).toBe(2);
    expect(c.lines[0]).toMatch(/^audit verify: .*ENOENT/u);
    expect(await runAuditVerify({ file, jwksFile: file, out: capture().out })).toBe(2);
    expect(await runAuditVerify({ file, keysDir, expectHead: 'nonsense', out: capture().out })).toBe(2);
  });
});

describe('runAuditQuery', () => {
  it('prints matching records as JSON lines, in order', async () => {
    const c = capture();
    expect(await runAuditQuery({ file, agent: 'billing-agent', out: c.out })).toBe(0);
    const records = c.lines.map((l) => JSON.parse(l) as { id: string; agent: { client_id: string } });
    expect(records.map((r) => r.id)).toEqual(['rec-1', 'rec-6']);
    const d = capture();
    expect(await runAuditQuery({ file, decision: 'denied', from: makeRecord(6).time, out: d.out })).toBe(0);
    expect(d.lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['rec-10']);
  });

  it('exits 2 on a bad time bound or a missing file, reporting on warn', async () => {
    const c = capture();
    const w = capture();
    expect(await runAuditQuery({ file, from: 'yesterday-ish', out: c.out, warn: w.out })).toBe(2);
    expect(c.lines).toEqual([]);
    expect(w.lines[0]).toMatch(/from: not a date/u);
    expect(await runAuditQuery({ file: join(dir, 'nope'), out: capture().out })).toBe(2);
  });
});

describe('audit over a rotated log', () => {
  let logDir: string;
  let active: string;
  beforeEach(async () => {
    logDir = join(dir, 'rotated');
    active = join(logDir, 'attribution.jsonl');
    const sink = new JsonlFileSink(active, { signer, checkpointEveryRecords: 4, checkpointEverySeconds: 0, rotate: { maxBytes: 2500 } });
    for (let i = 1; i <= 30; i++) await sink.append(makeRecord(i));
    await sink.close();
  });

  it('verify takes the directory, or the files in order, and checks the chain across them', async () => {
    const files = await chainFiles(active);
    expect(files.length).toBeGreaterThan(3);
    const a = capture();
    expect(await runAuditVerify({ file: logDir, keysDir, strict: true, out: a.out })).toBe(0);
    expect(a.lines).toEqual([expect.stringMatching(new RegExp(`^ok ${files.length} files \\(${escape(files[0]!)} … ${escape(active)}\\): 30 records, \\d+ checkpoints, head \\d+:`, 'u'))]);
    expect(await runAuditVerify({ file: files, keysDir, strict: true, out: capture().out })).toBe(0);
  });

  it('verify names the file and line where the chain breaks: a missing rotated file', async () => {
    const files = await chainFiles(active);
    await rm(files[1]!);
    const c = capture();
    expect(await runAuditVerify({ file: logDir, keysDir, out: c.out })).toBe(1);
    expect(c.lines).toEqual([expect.stringMatching(new RegExp(`^FAILED ${escape(files[2]!)} line 1 \\(seq \\d+\\): seq \\d+ where \\d+ was expected: \\d+ line\\(s\\) missing between ${escape(files[0]!)}`, 'u'))]);
  });

  it('verify --start-after proves what retention left, from the last removed line on', async () => {
    const files = await chainFiles(active);
    const lastRemoved = JSON.parse((await readFile(files[0]!, 'utf8')).trimEnd().split('\n').at(-1)!) as { seq: number; hash: string };
    await rm(files[0]!);
    expect(await runAuditVerify({ file: logDir, keysDir, out: capture().out })).toBe(1);
    const c = capture();
    expect(await runAuditVerify({ file: logDir, keysDir, strict: true, startAfter: `${lastRemoved.seq}:${lastRemoved.hash}`, out: c.out })).toBe(0);
    expect(c.lines[1]).toBe(`note: verified from seq ${lastRemoved.seq + 1}, anchored at ${lastRemoved.seq}:${lastRemoved.hash}; lines up to the anchor are not part of this proof`);
    expect(await runAuditVerify({ file: logDir, keysDir, startAfter: `${lastRemoved.seq}:${'B'.repeat(43)}`, out: capture().out })).toBe(1);
    const bad = capture();
    expect(await runAuditVerify({ file: logDir, keysDir, startAfter: 'seq-and-hash', out: bad.out })).toBe(2);
    expect(bad.lines).toEqual(['audit verify: --start-after: expected <seq>:<hash>, got seq-and-hash']);
  });

  it('query reads every file of the directory in order', async () => {
    const c = capture();
    expect(await runAuditQuery({ file: logDir, agent: 'billing-agent', out: c.out })).toBe(0);
    expect(c.lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['rec-1', 'rec-6', 'rec-11', 'rec-16', 'rec-21', 'rec-26']);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');
}
