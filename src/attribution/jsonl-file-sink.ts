/**
 * Append-only JSON-lines file. Durability with group commit: records that arrive while a write is in
 * flight are batched into the next single write + fdatasync, and each `append` resolves only after the
 * batch holding its record is on disk. A failed write rejects every record of that batch and the file is
 * reopened on the next append, so the broker recovers without a restart when the disk does.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AttributionRecord } from './record.js';
import { AttributionUnavailableError, type AttributionSink } from './sink.js';

interface Pending { readonly line: string; readonly resolve: () => void; readonly reject: (err: Error) => void }

export class JsonlFileSink implements AttributionSink {
  #handle: FileHandle | undefined;
  #queue: Pending[] = [];
  #flushing = false;
  #closed = false;

  constructor(readonly path: string) {}

  append(record: AttributionRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new AttributionUnavailableError('attribution sink is closed'));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ line: `${JSON.stringify(record)}\n`, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        this.#handle ??= await this.#open();
        await this.#handle.write(batch.map((p) => p.line).join(''));
        await this.#handle.datasync();
        for (const p of batch) p.resolve();
      } catch (cause) {
        const err = new AttributionUnavailableError(`cannot write attribution records to ${this.path}`, { cause });
        for (const p of batch) p.reject(err);
        await this.#handle?.close().catch(() => undefined);
        this.#handle = undefined;
      }
    }
    this.#flushing = false;
  }

  async #open(): Promise<FileHandle> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    return open(this.path, 'a', 0o600);
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#flushing) await new Promise((r) => setTimeout(r, 1));
    await this.#handle?.close();
    this.#handle = undefined;
  }
}
