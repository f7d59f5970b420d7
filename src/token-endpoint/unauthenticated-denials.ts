/**
 * Unauthenticated denials (no agent was authenticated: bad framing, wrong or missing client credentials,
 * unknown clients, the per-source limit) are written as one aggregate record per caller address per
 * interval, through the same hash chain, instead of one synchronous line each: anyone can reach /token,
 * and a flood of them once filled a disk and stalled every grant behind its own synced writes.
 *
 * Every such request is still counted, with its reason. The tally is in memory until the interval closes,
 * so a crash loses at most one interval of unauthenticated counts (never a grant or an authenticated
 * denial: those keep one durable record each, written before the response leaves). `close()` writes the
 * open interval (graceful shutdown). A write that fails puts its counts back for the next interval.
 */
import type { AttributionSink } from '../attribution/sink.js';
import type { Logger } from '../log.js';
import { aggregateRecords, emptyTally, restoreAggregate, tallyDenial, type DenialTally, type TalliedDenial } from './denial-tally.js';

export interface UnauthenticatedDenialsDeps {
  readonly sink: AttributionSink;
  readonly log: Logger;
  readonly now: () => number;
  readonly intervalMs: number;
  /** Distinct addresses per interval before the rest are counted together under `*` (default 10,000). */
  readonly maxSources?: number;
}

export interface UnauthenticatedDenials {
  add(denial: TalliedDenial): void;
  /** Writes the open interval now (resolves once its records are durable, or failed and were put back). */
  flush(): Promise<void>;
  /** Stops the timer and writes the open interval. */
  close(): Promise<void>;
}

export function createUnauthenticatedDenials(deps: UnauthenticatedDenialsDeps): UnauthenticatedDenials {
  const maxSources = deps.maxSources ?? 10_000;
  let tally: DenialTally = emptyTally(maxSources);
  let flushing: Promise<void> = Promise.resolve();

  async function write(closed: DenialTally): Promise<void> {
    const records = aggregateRecords(closed, deps.now());
    const results = await Promise.allSettled(records.map((r) => deps.sink.append(r)));
    let failed = 0;
    results.forEach((result, i) => {
      const record = records[i];
      if (result.status === 'rejected' && record) {
        failed += record.aggregate.count;
        restoreAggregate(tally, record);
      }
    });
    if (failed > 0) deps.log.error({ requests: failed }, 'aggregate attribution records for unauthenticated denials could not be written; kept for the next interval');
  }

  function flush(): Promise<void> {
    flushing = flushing.then(() => {
      if (tally.sources.size === 0) return undefined;
      const closed = tally;
      tally = emptyTally(maxSources);
      return write(closed);
    });
    return flushing;
  }

  const timer = setInterval(() => { void flush(); }, deps.intervalMs);
  timer.unref();

  return {
    add: (denial) => { tallyDenial(tally, denial); },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
