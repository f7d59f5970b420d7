/**
 * Append-only, hash-chained JSON-lines file (format in chain.ts). Durability with group commit: records
 * that arrive while a write is in flight are batched into the next single write + fdatasync, and each
 * `append` resolves only after the batch holding its record is on disk. A failed write rejects every
 * record of that batch and the file is reopened on the next append (re-reading its tail, so a partly
 * written batch is accounted for), so the broker recovers without a restart when the disk does.
 *
 * Chain fields are assigned when a batch is written, never before, so a rejected record takes no `seq`.
 *
 * Restart: the sink reads the end of an existing file and continues the chain from its last line.
 *  - Torn final line (bytes after the last newline: a crash mid-write; never acknowledged, since a batch
 *    is acknowledged only after fdatasync): the torn bytes are copied to `<file>.torn-<ms>`, cut from the
 *    log, reported through `onRecovery` (default: a process warning), and the chain continues from the
 *    last complete line. `verifyLog` on the file before restart reports the torn line.
 *  - Last complete line without chain fields (a log written before chaining): the file is renamed to
 *    `<file>.unchained-<ms>`, reported, and a new chain starts in a fresh file.
 *  - Last complete line that is not valid JSON, or chain fields that are malformed: the log has been
 *    damaged or edited; the sink refuses to append (every append rejects) until someone looks.
 * Note: a batch whose write succeeded but whose fdatasync failed was rejected to its callers yet may be in
 * the file; its records then describe decisions whose tokens were withheld.
 */
import { mkdir, open, rename, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SigningKey } from '../keys/signing-keys.js';
import { chainBatch } from './chain-batch.js';
import { EMPTY_CHAIN, type ChainHead } from './chain.js';
import { GroupCommit } from './group-commit.js';
import type { AttributionRecord } from './record.js';
import { makeRedactor, type Redaction } from './redact.js';
import { AttributionUnavailableError, type AttributionSink } from './sink.js';

export interface RecoveryEvent {
  readonly kind: 'torn_tail' | 'unchained_file';
  readonly path: string;
  /** Where the removed bytes or the old file were kept. */
  readonly savedTo: string;
  /** Bytes removed from the log (torn tail) or size of the renamed file. */
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
  readonly onRecovery?: (event: RecoveryEvent) => void;
  readonly now?: () => Date;
}

interface OpenLog { readonly handle: FileHandle; head: ChainHead; sinceCheckpoint: number }

const TAIL_WINDOW = 64 * 1024;

export class JsonlFileSink implements AttributionSink {
  readonly #options: JsonlFileSinkOptions;
  readonly #redact: (record: AttributionRecord) => AttributionRecord;
  readonly #timer: NodeJS.Timeout | undefined;
  #log: OpenLog | undefined;
  readonly #commit: GroupCommit<AttributionRecord>;
  #closed = false;

  constructor(readonly path: string, options: JsonlFileSinkOptions = {}) {
    this.#options = options;
    this.#redact = makeRedactor(options);
    this.#commit = new GroupCommit((batch, forced) => this.#persist(batch, forced), { windowMs: options.batchWindowMs ?? 0 });
    const seconds = options.checkpointEverySeconds ?? 60;
    if (options.signer && seconds > 0) {
      this.#timer = setInterval(() => {
        if ((this.#log?.sinceCheckpoint ?? 0) > 0) this.#requestCheckpoint();
      }, seconds * 1000);
      this.#timer.unref();
    }
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

  /** One batch: chain it after the durable head, write it, fdatasync; the head advances only after that. */
  async #persist(batch: readonly AttributionRecord[], forceCheckpoint: boolean): Promise<void> {
    try {
      this.#log ??= await this.#open();
      const log = this.#log;
      const { lines, state } = await chainBatch(batch, log, {
        ...(this.#options.signer ? { signer: this.#options.signer } : {}),
        checkpointEveryRecords: this.#options.checkpointEveryRecords ?? 1000,
        forceCheckpoint,
        redact: this.#redact,
        now: () => this.#now(),
      });
      if (lines.length > 0) {
        // writeFile loops until every byte is written (a single write(2) may be short).
        await log.handle.writeFile(`${lines.join('\n')}\n`);
        await log.handle.datasync();
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
    let handle = await open(this.path, 'a+', 0o600);
    try {
      await syncDirectory(dirname(this.path)); // make the file's directory entry durable too
      const tail = await readTail(handle, this.path);
      if (tail.tornBytes > 0) {
        const savedTo = `${this.path}.torn-${Date.now()}`;
        const torn = Buffer.alloc(tail.tornBytes);
        await handle.read(torn, 0, tail.tornBytes, tail.cut);
        await writeFile(savedTo, torn, { mode: 0o600 });
        await handle.truncate(tail.cut);
        await handle.datasync();
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
        handle = await open(this.path, 'a+', 0o600);
        await syncDirectory(dirname(this.path));
        return { handle, head: EMPTY_CHAIN, sinceCheckpoint: 0 };
      }
      // Records after the last checkpoint (or an unknown number of them) should be covered soon.
      return { handle, head: tail.head, sinceCheckpoint: tail.lastIsCheckpoint || tail.head.seq === 0 ? 0 : 1 };
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
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

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

interface Tail {
  readonly head: ChainHead;
  readonly lastIsCheckpoint: boolean;
  readonly unchained: boolean;
  /** Offset just after the last newline. */
  readonly cut: number;
  readonly tornBytes: number;
}

/** The chain head of an existing log, from its last complete line (reading backwards as far as needed). */
async function readTail(handle: FileHandle, path: string): Promise<Tail> {
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
