/**
 * The files of one rotated attribution chain. The sink appends to the active file (`attribution.jsonl`);
 * rotation renames it, never to be written again, to
 *   `<stem>-<UTC time YYYYMMDDTHHMMSSmmmZ>-<last seq, 12 digits>.jsonl`
 * (for `attribution.jsonl`: `attribution-20261123T120000000Z-000000001001.jsonl`) next to it. The chain
 * order is the order of the last seq in the names, then the active file; the hash chain itself proves it.
 */
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

const SEQ_DIGITS = 12;

interface ChainName {
  readonly stem: string;
  readonly ext: string;
}

function chainName(activePath: string): ChainName {
  const name = basename(activePath);
  const ext = extname(name);
  return { stem: ext === '' ? name : name.slice(0, -ext.length), ext };
}

function compactUtc(time: Date): string {
  return time.toISOString().replace(/[-:.]/gu, '');
}

/** Where rotation moves the active file whose last line has `lastSeq`. */
export function rotatedPath(activePath: string, time: Date, lastSeq: number): string {
  const { stem, ext } = chainName(activePath);
  return join(dirname(activePath), `${stem}-${compactUtc(time)}-${String(lastSeq).padStart(SEQ_DIGITS, '0')}${ext}`);
}

const ROTATED = /^(.+)-(\d{8}T\d{9}Z)-(\d{12,})(\.[^.]*)?$/u;

/** The stem, extension and last seq of a rotated file name, or undefined. */
export function parseRotatedName(fileName: string): { stem: string; ext: string; lastSeq: number } | undefined {
  const match = ROTATED.exec(fileName);
  if (!match?.[1] || !match[3]) return undefined;
  return { stem: match[1], ext: match[4] ?? '', lastSeq: Number(match[3]) };
}

/** The rotated files of the chain whose active file is `activePath`, oldest first. */
export async function rotatedFiles(activePath: string): Promise<string[]> {
  const { stem, ext } = chainName(activePath);
  const dir = dirname(activePath);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  return names
    .map((name) => ({ name, parsed: parseRotatedName(name) }))
    .filter((f) => f.parsed?.stem === stem && f.parsed.ext === ext)
    .sort((a, b) => (a.parsed?.lastSeq ?? 0) - (b.parsed?.lastSeq ?? 0))
    .map((f) => join(dir, f.name));
}

/** Every file of the chain in order: the rotated files, then the active file if it exists. */
export async function chainFiles(activePath: string): Promise<string[]> {
  const rotated = await rotatedFiles(activePath);
  return (await exists(activePath)) ? [...rotated, activePath] : rotated;
}

export interface OpenedLogFile {
  readonly path: string;
  readonly handle: FileHandle;
}

/**
 * Opens every file of the chain for reading, for a reader racing the live sink: an open handle keeps
 * reading its file even if rotation renames it, and if a rotation happened between listing and opening
 * (a new rotated file appeared), the listing is retried. The caller closes the handles.
 */
export async function openChainFiles(activePath: string): Promise<OpenedLogFile[]> {
  for (let attempt = 1; ; attempt++) {
    const files = await chainFiles(activePath);
    const opened: OpenedLogFile[] = [];
    try {
      for (const path of files) {
        try {
          opened.push({ path, handle: await open(path, 'r') });
        } catch (error) {
          if (!isNotFound(error)) throw error; // else renamed meanwhile: the re-listing below sees it
        }
      }
      const again = await rotatedFiles(activePath);
      const before = files.filter((f) => f !== activePath);
      if (attempt >= 3 || (again.length === before.length && again.every((f, i) => f === before[i]))) return opened;
    } catch (error) {
      await closeAll(opened);
      throw error;
    }
    await closeAll(opened);
  }
}

export async function closeAll(files: readonly OpenedLogFile[]): Promise<void> {
  await Promise.all(files.map((f) => f.handle.close().catch(() => undefined)));
}

/**
 * The files to read for command-line arguments: a directory stands for the one chain in it (its rotated
 * files in order, then its active file); files are taken as given, in the order given.
 */
export async function resolveLogPaths(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    if ((await stat(path)).isDirectory()) out.push(...(await chainInDirectory(path)));
    else out.push(path);
  }
  return out;
}

async function chainInDirectory(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  const stems = new Map<string, string>(); // stem + ext -> active file name
  for (const name of names) {
    const parsed = parseRotatedName(name);
    if (parsed) stems.set(`${parsed.stem}${parsed.ext}`, `${parsed.stem}${parsed.ext}`);
  }
  if (stems.size === 0) {
    // No rotation yet: the one log file in the directory (not the torn/unchained copies kept aside).
    const logs = names.filter((n) => /\.jsonl$/u.test(n));
    if (logs.length !== 1) throw new Error(`${dir}: expected one attribution log (*.jsonl), found ${logs.length === 0 ? 'none' : logs.join(', ')}; name the files`);
    return [join(dir, logs[0] ?? '')];
  }
  if (stems.size > 1) throw new Error(`${dir}: holds the rotated files of several logs (${[...stems.keys()].sort().join(', ')}); name the files`);
  const active = join(dir, [...stems.values()][0] ?? '');
  return chainFiles(active);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}
