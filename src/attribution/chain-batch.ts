/** Turns a batch of records into chained lines (with checkpoints where due), shared by every sink. */
import type { SigningKey } from '../keys/signing-keys.js';
import { canonicalJson } from './canonical-json.js';
import { chainRecordLine, headOf, signCheckpoint, type ChainHead } from './chain.js';
import type { AttributionRecord } from './record.js';

export interface ChainState {
  readonly head: ChainHead;
  /** Records since the last checkpoint (1 when unknown but non-zero, e.g. after a crash). */
  readonly sinceCheckpoint: number;
}

export interface ChainBatchOptions {
  readonly signer?: SigningKey;
  readonly checkpointEveryRecords: number;
  /** Append a checkpoint after the batch if any record is uncovered. */
  readonly forceCheckpoint: boolean;
  readonly redact: (record: AttributionRecord) => AttributionRecord;
  readonly now: () => Date;
}

/** Canonical JSON lines (without newlines) for `records` after `state`, and the state they leave. */
export async function chainBatch(records: readonly AttributionRecord[], state: ChainState, opts: ChainBatchOptions): Promise<{ lines: string[]; state: ChainState }> {
  let head = state.head;
  let since = state.sinceCheckpoint;
  const lines: string[] = [];
  const checkpoint = async (): Promise<void> => {
    if (!opts.signer) return;
    const line = await signCheckpoint(head, opts.signer, opts.now());
    lines.push(canonicalJson(line));
    head = headOf(line);
    since = 0;
  };
  for (const record of records) {
    const { line, seq, hash } = chainRecordLine(opts.redact(record), head);
    lines.push(line);
    head = { seq, hash };
    since += 1;
    if (since >= opts.checkpointEveryRecords) await checkpoint();
  }
  if (opts.forceCheckpoint && since > 0) await checkpoint();
  return { lines, state: { head, sinceCheckpoint: since } };
}
