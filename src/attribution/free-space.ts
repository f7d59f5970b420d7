/**
 * Free space where the attribution file lives. No token leaves without a durable record, so a full disk
 * stops every grant: the broker says so before it happens. Below `minFreeBytes` readiness reports the disk
 * (the load balancer moves traffic away, the operator is paged) and a warning is logged, at once and then
 * at most once a minute while it stays low; writes go on until the disk really refuses them.
 */
import { statfs as fsStatfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../log.js';

/** What the check needs from statfs(2) (node:fs/promises `statfs`, injectable for tests). */
export type StatFs = (path: string) => Promise<{ readonly bavail: number | bigint; readonly bsize: number | bigint }>;

export interface DiskCheck {
  readonly ok: boolean;
  readonly path: string;
  readonly free_bytes?: number;
  readonly min_free_bytes: number;
  readonly reason?: string;
}

export interface FreeSpaceOptions {
  /** The attribution file (its directory, or the nearest existing parent, is measured). */
  readonly file: string;
  readonly minFreeBytes: number;
  readonly log: Logger;
  readonly statfs?: StatFs;
  readonly now?: () => number;
  /** Background check interval (default 10 s; 0: only when asked). */
  readonly intervalMs?: number;
}

const WARN_EVERY_MS = 60_000;

/** Pure: the readiness verdict for `freeBytes` free against the threshold. */
export function judgeFreeSpace(path: string, freeBytes: number, minFreeBytes: number): DiskCheck {
  if (freeBytes >= minFreeBytes) return { ok: true, path, free_bytes: freeBytes, min_free_bytes: minFreeBytes };
  return {
    ok: false, path, free_bytes: freeBytes, min_free_bytes: minFreeBytes,
    reason: `attribution disk low: ${String(freeBytes)} bytes free at ${path}, below ${String(minFreeBytes)}; grants stop when records cannot be written`,
  };
}

export class FreeSpaceMonitor {
  readonly #opts: FreeSpaceOptions;
  readonly #statfs: StatFs;
  readonly #timer: NodeJS.Timeout | undefined;
  #lastWarnMs: number | undefined;

  constructor(opts: FreeSpaceOptions) {
    this.#opts = opts;
    this.#statfs = opts.statfs ?? fsStatfs;
    const every = opts.intervalMs ?? 10_000;
    if (every > 0) {
      this.#timer = setInterval(() => { void this.check(); }, every);
      this.#timer.unref();
    }
  }

  /** Measures now; logs a warning when low (rate-limited) and when it recovers. Never rejects. */
  async check(): Promise<DiskCheck> {
    const { file, minFreeBytes, log } = this.#opts;
    let verdict: DiskCheck;
    let path = dirname(file);
    try {
      const stats = await this.#measure(path);
      path = stats.path;
      verdict = judgeFreeSpace(path, stats.free, minFreeBytes);
    } catch (err) {
      verdict = { ok: false, path, min_free_bytes: minFreeBytes, reason: `free space at ${path} cannot be measured: ${(err as Error).message}` };
    }
    const nowMs = (this.#opts.now ?? Date.now)();
    if (!verdict.ok) {
      if (this.#lastWarnMs === undefined || nowMs - this.#lastWarnMs >= WARN_EVERY_MS) {
        this.#lastWarnMs = nowMs;
        log.warn({ path: verdict.path, free_bytes: verdict.free_bytes, min_free_bytes: minFreeBytes }, verdict.reason ?? 'attribution disk low');
      }
    } else if (this.#lastWarnMs !== undefined) {
      this.#lastWarnMs = undefined;
      log.info({ path: verdict.path, free_bytes: verdict.free_bytes }, 'attribution disk has enough free space again');
    }
    return verdict;
  }

  /** The directory may not exist yet (the sink creates it on first write): measure its nearest existing parent. */
  async #measure(start: string): Promise<{ path: string; free: number }> {
    for (let path = start; ; path = dirname(path)) {
      try {
        const s = await this.#statfs(path);
        return { path, free: Number(s.bavail) * Number(s.bsize) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(path) === path) throw err;
      }
    }
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
