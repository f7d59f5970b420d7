/**
 * Append-only, hash-chained JSON-lines file (format in chain.ts). Durability with group commit: records
 * that arrive while a write is in flight are batched into the next single synchronous write (the file is
 * open with O_DSYNC: the write returns once its bytes are on stable storage, as write + fdatasync would),
 * and each `append` resolves only after the batch holding its record is on disk. A failed write rejects every
 * record of that batch and the file is reopened on the next append (re-reading its tail, so a partly
 * written batch is accounted for), so the broker recovers without a restart when the disk does.
 *
 * Chain fields are assigned when a batch is written, never before, so a rejected record takes no `seq`.
 *
 * Restart: the sink reads the end of an existing file and continues the chain from its last line.
 *  - Torn final line (bytes after the last newline: a crash mid-write; never acknowledged, since a batch
 *    is acknowledged only after its synchronous write returned): the torn bytes are copied to
 *    `<file>.torn-<ms>`, cut from the log, reported through `onRecovery` (default: a process warning), and
 *    the chain continues from the last complete line. At most one such file per torn tail: if the copy
 *    fails (a full disk), it is removed and the next batch retries under the same name. `verifyLog` on the file before restart reports the torn line.
 *  - Last complete line without chain fields (a log written before chaining): the file is renamed to
 *    `<file>.unchained-<ms>`, reported, and a new chain starts in a fresh file.
 *  - Last complete line that is not valid JSON, or chain fields that are malformed: the log has been
 *    damaged or edited; the sink refuses to append (every append rejects) until someone looks.
 *  - Empty or missing active file after a rotation: the chain continues from the last line of the newest
 *    rotated file.
 *
 * Rotation (`rotate`): before a batch is written, an active file that has reached `maxBytes`, or whose first
 * line is older than `maxAgeSeconds`, is sealed with a signed checkpoint (when records are uncovered),
 * renamed to `<stem>-<UTC time>-<last seq>.jsonl` (log-files.ts), made read-only, and a new empty active
 * file is created; the directory is fsynced after the rename and the creation. The chain simply continues:
 * the new file's first line has `prev` = the last hash of the rotated file. A rotated file is never opened
 * for writing again. A failed rotation fails that batch like a failed write; the next batch retries it.
 *
 * Note: a batch whose write failed part-way (or whose bytes reached the file but not stable storage) was
 * rejected to its callers yet may be in the file; its records then describe decisions whose tokens were withheld.
 */
import { constants, fdatasync, write } from 'node:fs';
import { access, chmod, mkdir, open, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SigningKey } from '../keys/signing-keys.js';
import { chainBatch } from './chain-batch.js';
import { EMPTY_CHAIN, type ChainHead } from './chain.js';
import { GroupCommit, type CommitObserver } from './group-commit.js';
import { rotatedFiles, rotatedPath } from './log-files.js';
import { readFirstTime, readTail } from './log-tail.js';
import type { AttributionRecord } from './record.js';
import { makeRedactor, type Redaction } from './redact.js';
import { AttributionUnavailableError, type AttributionSink } from './sink.js';

export interface RecoveryEvent {
  /**
   * `active_file_missing`: there was no active file but there are rotated ones, so the chain continues from
   * the newest rotated file. A crash between a rotation's rename and the new file's creation does that; so
   * does deleting the active file, which the chain alone cannot tell apart: it is reported, and the
   * acknowledged sequence numbers (responses, the Redis stream, monitoring) tell which it was.
   */
  readonly kind: 'torn_tail' | 'unchained_file' | 'active_file_missing';
  readonly path: string;
  /** Where the removed bytes or the old file were kept (for active_file_missing: the file the chain continues from). */
  readonly savedTo: string;
  /** Bytes removed from the log (torn tail) or size of the renamed file (0 for active_file_missing). */
  readonly bytes: number;
  readonly message: string;
}

export interface JsonlFileSinkOptions extends Redaction {
  /** Broker signing key for checkpoints; without it no checkpoints are written. */
  readonly signer?: SigningKey;
  /** Checkpoint after this many records (default 1000). */
  readonly checkpointEveryRecords?: number;
  /** Checkpoint this often when records arrived since the last one (default 60 s; 0 disables the timer). */
  readonly checkpointEverySeconds?: number;
  /** Group-commit batching window in ms (default 0: a batch is whatever arrived during the previous write). */
  readonly batchWindowMs?: number;
  /** Told after each group commit: batch size, duration, success (metrics). */
  readonly onCommit?: CommitObserver;
  /** Rotate the active file by size and/or age (default: never). */
  readonly rotate?: RotationPolicy;
  readonly onRecovery?: (event: RecoveryEvent) => void;
  readonly onRotation?: (event: RotationEvent) => void;
  readonly now?: () => Date;
}

export interface RotationPolicy {
  /** Rotate once the active file holds at least this many bytes. */
  readonly maxBytes?: number;
  /** Rotate once the active file's first line is at least this old. */
  readonly maxAgeSeconds?: number;
}

export interface RotationEvent {
  /** The rotated file (read-only from now on). */
  readonly rotatedTo: string;
  /** The chain position its last line holds; the active file continues from here. */
  readonly head: ChainHead;
  readonly bytes: number;
}

/**
 * The active file: appended to (O_APPEND) with O_DSYNC, so each write(2) returns only once its bytes (and the
 * file size they need) are on stable storage, as write + fdatasync would, in one system call: one thread-pool
 * job and one event-loop wake-up per batch instead of two. Where the platform has no O_DSYNC (Windows:
 * fs.constants lacks it), each write is followed by fdatasync instead.
 */
const O_DSYNC = (constants as { O_DSYNC?: number }).O_DSYNC;
const ACTIVE_FILE_FLAGS = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | (O_DSYNC ?? 0);

interface OpenLog {
  readonly handle: FileHandle;
  head: ChainHead;
  sinceCheckpoint: number;
  /** Bytes in the active file. */
  size: number;
  /** When its first line was written (ms), undefined while it is empty. */
  firstLineMs: number | undefined;
}

export class JsonlFileSink implements AttributionSink {
  readonly #options: JsonlFileSinkOptions;
  readonly #redact: (record: AttributionRecord) => AttributionRecord;
  readonly #timer: NodeJS.Timeout | undefined;
  #log: OpenLog | undefined;
  readonly #commit: GroupCommit<AttributionRecord>;
  #closed = false;
  /** The torn tail being moved aside, while that has not succeeded yet (its retries reuse the name). */
  #tornAside: { readonly cut: number; readonly bytes: number; readonly savedTo: string } | undefined;
  #writes = 0;
  #records = 0;

  constructor(readonly path: string, options: JsonlFileSinkOptions = {}) {
    this.#options = options;
    this.#redact = makeRedactor(options);
    this.#commit = new GroupCommit((batch, forced) => this.#persist(batch, forced), { windowMs: options.batchWindowMs ?? 0, ...(options.onCommit ? { onCommit: options.onCommit } : {}) });
    const seconds = options.checkpointEverySeconds ?? 60;
    if (options.signer && seconds > 0) {
      this.#timer = setInterval(() => {
        if ((this.#log?.sinceCheckpoint ?? 0) > 0) this.#requestCheckpoint();
      }, seconds * 1000);
      this.#timer.unref();
    }
  }

  /** Synchronous writes made by this sink and the records they held (checkpoints excluded): records per write. */
  get written(): { readonly writes: number; readonly records: number } {
    return { writes: this.#writes, records: this.#records };
  }

  /** The chain position reached by durable lines (undefined before the file is opened). */
  get head(): ChainHead | undefined {
    return this.#log?.head;
  }

  append(record: AttributionRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new AttributionUnavailableError('attribution sink is closed'));
    return this.#commit.submit(record);
  }

  #requestCheckpoint(): void {
    this.#commit.force();
  }

  /** One batch: chain it after the durable head, write it synchronously; the head advances only after that. */
  async #persist(batch: readonly AttributionRecord[], forceCheckpoint: boolean): Promise<void> {
    try {
      this.#log ??= await this.#open();
      // Only a batch with records starts a new file (a lone checkpoint, e.g. at close, seals the full one).
      if (batch.length > 0 && this.#rotationDue(this.#log)) this.#log = await this.#rotate(this.#log);
      const log = this.#log;
      const { lines, state } = await chainBatch(batch, log, {
        ...(this.#options.signer ? { signer: this.#options.signer } : {}),
        checkpointEveryRecords: this.#options.checkpointEveryRecords ?? 1000,
        forceCheckpoint,
        redact: this.#redact,
        now: () => this.#now(),
      });
      if (lines.length > 0) {
        lines.push(''); // the batch ends with a newline, and joins into one flat string (no copy before encoding)
        await writeDurably(log, lines.join('\n'), this.#now());
        this.#writes += 1;
        this.#records += batch.length;
      }
      log.head = state.head;
      log.sinceCheckpoint = state.sinceCheckpoint;
    } catch (cause) {
      // Reopen on the next batch: re-reading the tail accounts for a partly written batch.
      await this.#log?.handle.close().catch(() => undefined);
      this.#log = undefined;
      throw cause instanceof AttributionUnavailableError
        ? cause
        : new AttributionUnavailableError(`cannot write attribution records to ${this.path}`, { cause });
    }
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }

  async #open(): Promise<OpenLog> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const existed = await stat(this.path).then(() => true, (error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    });
    let handle = await open(this.path, ACTIVE_FILE_FLAGS, 0o600);
    try {
      await syncDirectory(dirname(this.path)); // make the file's directory entry durable too
      const tail = await readTail(handle, this.path);
      if (tail.tornBytes > 0) {
        // One aside file per recovery: a retry of the same torn tail (the previous attempt failed, e.g. on a
        // full disk) reuses its name, and a failed copy is removed, so failing batches leave no trail of files.
        const pending = this.#tornAside;
        const savedTo = pending?.cut === tail.cut && pending.bytes === tail.tornBytes ? pending.savedTo : `${this.path}.torn-${Date.now()}`;
        this.#tornAside = { cut: tail.cut, bytes: tail.tornBytes, savedTo };
        const torn = Buffer.alloc(tail.tornBytes);
        await handle.read(torn, 0, tail.tornBytes, tail.cut);
        try {
          await writeFile(savedTo, torn, { mode: 0o600 });
        } catch (error) {
          await unlink(savedTo).catch(() => undefined);
          throw error;
        }
        await handle.truncate(tail.cut);
        await handle.datasync();
        this.#tornAside = undefined;
        this.#report({
          kind: 'torn_tail',
          path: this.path,
          savedTo,
          bytes: tail.tornBytes,
          message: `attribution log ${this.path} ended in a torn line (${tail.tornBytes} bytes without a newline, never acknowledged); `
            + `cut it (kept in ${savedTo}) and continued the chain at seq ${tail.head.seq + 1}`,
        });
      }
      if (tail.unchained) {
        await handle.close();
        const savedTo = `${this.path}.unchained-${Date.now()}`;
        const { size } = await stat(this.path);
        await rename(this.path, savedTo);
        this.#report({
          kind: 'unchained_file',
          path: this.path,
          savedTo,
          bytes: size,
          message: `attribution log ${this.path} was written before hash chaining; moved to ${savedTo}, a new chain starts`,
        });
        handle = await open(this.path, ACTIVE_FILE_FLAGS, 0o600);
        await syncDirectory(dirname(this.path));
        return { handle, ...(await this.#rotatedHead()), size: 0, firstLineMs: undefined };
      }
      if (tail.cut === 0) {
        const rotated = await this.#rotatedHead();
        if (!existed && rotated.from !== undefined) {
          this.#report({
            kind: 'active_file_missing',
            path: this.path,
            savedTo: rotated.from,
            bytes: 0,
            message: `attribution log ${this.path} was missing; continued the chain at seq ${rotated.head.seq + 1} from ${rotated.from}. `
              + 'Unless the broker stopped during a rotation, records after it may have been deleted: compare with the last acknowledged seq',
          });
        }
        return { handle, head: rotated.head, sinceCheckpoint: rotated.sinceCheckpoint, size: 0, firstLineMs: undefined };
      }
      // Records after the last checkpoint (or an unknown number of them) should be covered soon.
      return {
        handle,
        head: tail.head,
        sinceCheckpoint: tail.lastIsCheckpoint ? 0 : 1,
        size: tail.cut,
        firstLineMs: (await readFirstTime(handle)) ?? this.#now().getTime(),
      };
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  /** Where the chain stands at the end of the newest rotated file (the empty chain when there is none). */
  async #rotatedHead(): Promise<{ head: ChainHead; sinceCheckpoint: number; from?: string }> {
    const newest = (await rotatedFiles(this.path)).at(-1);
    if (newest === undefined) return { head: EMPTY_CHAIN, sinceCheckpoint: 0 };
    const handle = await open(newest, 'r');
    try {
      const tail = await readTail(handle, newest);
      if (tail.tornBytes > 0 || tail.unchained) {
        throw new AttributionUnavailableError(`attribution log ${newest}: the newest rotated file does not end in a complete chained line; run \`broker audit verify\``);
      }
      return { head: tail.head, sinceCheckpoint: tail.lastIsCheckpoint ? 0 : 1, from: newest };
    } finally {
      await handle.close();
    }
  }

  #rotationDue(log: OpenLog): boolean {
    const policy = this.#options.rotate;
    if (policy === undefined || log.size === 0) return false;
    if (policy.maxBytes !== undefined && log.size >= policy.maxBytes) return true;
    return policy.maxAgeSeconds !== undefined && log.firstLineMs !== undefined
      && this.#now().getTime() - log.firstLineMs >= policy.maxAgeSeconds * 1000;
  }

  /** Seals the active file (checkpoint), renames it read-only, and returns the new empty active file. */
  async #rotate(log: OpenLog): Promise<OpenLog> {
    if (this.#options.signer && log.sinceCheckpoint > 0) {
      const sealed = await chainBatch([], log, {
        signer: this.#options.signer,
        checkpointEveryRecords: Number.POSITIVE_INFINITY,
        forceCheckpoint: true,
        redact: this.#redact,
        now: () => this.#now(),
      });
      await writeDurably(log, `${sealed.lines.join('\n')}\n`, this.#now());
      log.head = sealed.state.head;
      log.sinceCheckpoint = sealed.state.sinceCheckpoint;
    }
    const target = rotatedPath(this.path, this.#now(), log.head.seq);
    if (await access(target).then(() => true, () => false)) {
      throw new AttributionUnavailableError(`cannot rotate attribution log ${this.path}: ${target} already exists`);
    }
    await log.handle.close();
    await rename(this.path, target);
    const handle = await open(this.path, ACTIVE_FILE_FLAGS, 0o600);
    try {
      await syncDirectory(dirname(this.path)); // both the rename and the new file
      await chmod(target, 0o400);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    this.#options.onRotation?.({ rotatedTo: target, head: log.head, bytes: log.size });
    return { handle, head: log.head, sinceCheckpoint: log.sinceCheckpoint, size: 0, firstLineMs: undefined };
  }

  #report(event: RecoveryEvent): void {
    if (this.#options.onRecovery) this.#options.onRecovery(event);
    else process.emitWarning(event.message, { code: `ATTRIBUTION_${event.kind.toUpperCase()}` });
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#closed) return;
    this.#closed = true;
    if (this.#options.signer && (this.#log?.sinceCheckpoint ?? 0) > 0) this.#requestCheckpoint();
    await this.#commit.idle();
    await this.#log?.handle.close();
    this.#log = undefined;
  }
}

/** Appends `text` durably; the caller's chain state advances only after this returns. */
async function writeDurably(log: OpenLog, text: string, now: Date): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  await appendSynced(log.handle.fd, bytes);
  if (log.size === 0) log.firstLineMs = now.getTime();
  log.size += bytes.length;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes every byte of `bytes` at the end of `fd` (opened with ACTIVE_FILE_FLAGS); a short write(2) is continued. */
function appendSynced(fd: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (offset: number): void => {
      write(fd, bytes, offset, bytes.length - offset, null, (error, written) => {
        if (error) reject(error);
        else if (offset + written < bytes.length) from(offset + written);
        else if (O_DSYNC === undefined) fdatasync(fd, (syncError) => { if (syncError) reject(syncError); else resolve(); });
        else resolve();
      });
    };
    from(0);
  });
}
