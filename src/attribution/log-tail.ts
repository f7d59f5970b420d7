/** Reading the ends of a JSON-lines attribution log: where its chain stands, and when its first line was written. */
import type { FileHandle } from 'node:fs/promises';
import { EMPTY_CHAIN, type ChainHead } from './chain.js';
import { AttributionUnavailableError } from './sink.js';

const TAIL_WINDOW = 64 * 1024;

export interface Tail {
  readonly head: ChainHead;
  readonly lastIsCheckpoint: boolean;
  readonly unchained: boolean;
  /** Offset just after the last newline. */
  readonly cut: number;
  readonly tornBytes: number;
}

/** The chain head of an existing log, from its last complete line (reading backwards as far as needed). */
export async function readTail(handle: FileHandle, path: string): Promise<Tail> {
  const { size } = await handle.stat();
  if (size === 0) return { head: EMPTY_CHAIN, lastIsCheckpoint: false, unchained: false, cut: 0, tornBytes: 0 };
  let window = Math.min(size, TAIL_WINDOW);
  for (;;) {
    const start = size - window;
    const buf = Buffer.alloc(window);
    await handle.read(buf, 0, window, start);
    const lastNl = buf.lastIndexOf(0x0a);
    const prevNl = lastNl < 0 ? -1 : buf.lastIndexOf(0x0a, lastNl - 1);
    const complete = lastNl < 0 ? start === 0 : prevNl >= 0 || start === 0;
    if (!complete) {
      window = Math.min(size, window * 2);
      continue;
    }
    const cut = lastNl < 0 ? 0 : start + lastNl + 1;
    const tornBytes = size - cut;
    if (lastNl < 0) return { head: EMPTY_CHAIN, lastIsCheckpoint: false, unchained: false, cut, tornBytes };
    const text = buf.subarray(prevNl + 1, lastNl).toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new AttributionUnavailableError(`attribution log ${path}: its last complete line is not JSON; the log is damaged, run \`broker audit verify\``);
    }
    if (typeof parsed !== 'object' || parsed === null) {
      throw new AttributionUnavailableError(`attribution log ${path}: its last complete line is not a JSON object; run \`broker audit verify\``);
    }
    const { seq, hash, type } = parsed as { seq?: unknown; hash?: unknown; type?: unknown };
    if (seq === undefined && hash === undefined) {
      return { head: EMPTY_CHAIN, lastIsCheckpoint: false, unchained: true, cut, tornBytes };
    }
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || typeof hash !== 'string') {
      throw new AttributionUnavailableError(`attribution log ${path}: its last line has malformed seq/hash; run \`broker audit verify\``);
    }
    return { head: { seq, hash }, lastIsCheckpoint: type === 'checkpoint', unchained: false, cut, tornBytes };
  }
}

/** The `time` of the file's first line in ms, or undefined (empty file, no line end yet, no usable time). */
export async function readFirstTime(handle: FileHandle): Promise<number | undefined> {
  const buf = Buffer.alloc(TAIL_WINDOW);
  const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
  const nl = buf.subarray(0, bytesRead).indexOf(0x0a);
  if (nl < 0) return undefined;
  const match = /"time":"([^"]+)"/u.exec(buf.subarray(0, nl).toString('utf8'));
  const ms = match?.[1] === undefined ? Number.NaN : Date.parse(match[1]);
  return Number.isNaN(ms) ? undefined : ms;
}
