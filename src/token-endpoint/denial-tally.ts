/**
 * Counting unauthenticated denials per caller address over one interval, and turning the counts into
 * aggregate attribution records. Pure: plain data in, plain data out; the shell (unauthenticated-denials.ts)
 * owns the timer and the sink.
 *
 * Memory is bounded: at most `maxSources` addresses per interval; requests from further addresses are
 * counted under `*` (still every request counted, with its reason).
 */
import { randomUUID } from 'node:crypto';
import { RECORD_SCHEMA_VERSION, type AggregateDenialRecord } from '../attribution/record.js';

export const OVERFLOW_SOURCE = '*';

export interface SourceCount {
  count: number;
  readonly reasons: Map<string, number>;
  readonly clients: Map<string, number>;
  firstMs: number;
  lastMs: number;
}

export interface DenialTally {
  readonly sources: Map<string, SourceCount>;
  readonly maxSources: number;
}

export interface TalliedDenial {
  readonly address: string;
  readonly reason: string;
  /** A registered client id the request named (without authenticating as it), if any. */
  readonly clientId: string | null;
  readonly atMs: number;
  /** How many requests this entry stands for (1, or a failed aggregate put back). */
  readonly count?: number;
}

export function emptyTally(maxSources: number): DenialTally {
  return { sources: new Map(), maxSources };
}

function bump(map: Map<string, number>, key: string, by: number): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** Adds one denial to the tally (mutates it: the tally is the shell's accumulator). */
export function tallyDenial(tally: DenialTally, denial: TalliedDenial): void {
  const known = tally.sources.has(denial.address);
  const address = known || tally.sources.size < tally.maxSources ? denial.address : OVERFLOW_SOURCE;
  let entry = tally.sources.get(address);
  if (!entry) {
    entry = { count: 0, reasons: new Map(), clients: new Map(), firstMs: denial.atMs, lastMs: denial.atMs };
    tally.sources.set(address, entry);
  }
  const by = denial.count ?? 1;
  entry.count += by;
  bump(entry.reasons, denial.reason, by);
  if (denial.clientId !== null) bump(entry.clients, denial.clientId, by);
  entry.firstMs = Math.min(entry.firstMs, denial.atMs);
  entry.lastMs = Math.max(entry.lastMs, denial.atMs);
}

function sortedObject(map: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries([...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** One record per address, members in canonical order (the sink then serialises each with one stringify). */
export function aggregateRecords(tally: DenialTally, nowMs: number): AggregateDenialRecord[] {
  return [...tally.sources.entries()].map(([address, s]) => ({
    agent: { authenticated: false, client_id: null },
    aggregate: {
      ...(s.clients.size > 0 ? { clients: sortedObject(s.clients) } : {}),
      count: s.count,
      first: new Date(s.firstMs).toISOString(),
      last: new Date(s.lastMs).toISOString(),
      reasons: sortedObject(s.reasons),
    },
    caller: { address },
    decision: 'denied',
    id: randomUUID(),
    time: new Date(nowMs).toISOString(),
    type: 'token_exchange_aggregate',
    v: RECORD_SCHEMA_VERSION,
  }));
}

/**
 * Puts the counts of an aggregate that could not be written back into the tally (they are then written with
 * the next interval's): a failed write loses no count.
 */
export function restoreAggregate(tally: DenialTally, record: AggregateDenialRecord): void {
  const { aggregate } = record;
  const first = Date.parse(aggregate.first);
  const last = Date.parse(aggregate.last);
  const reasons = Object.entries(aggregate.reasons);
  for (const [i, [reason, count]] of reasons.entries()) {
    tallyDenial(tally, { address: record.caller.address, reason, clientId: null, atMs: i === 0 ? first : last, count });
  }
  const entry = tally.sources.get(record.caller.address) ?? tally.sources.get(OVERFLOW_SOURCE);
  if (!entry) return;
  entry.firstMs = Math.min(entry.firstMs, first);
  entry.lastMs = Math.max(entry.lastMs, last);
  for (const [clientId, count] of Object.entries(aggregate.clients ?? {})) bump(entry.clients, clientId, count);
}
