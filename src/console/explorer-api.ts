/**
 * The attribution explorer's API: filtered records, a live tail, one record with its place in the hash
 * chain, verification of the whole log, and export as JSON lines. Reads whichever sink the broker writes
 * (record-source.ts: the file chain, or the Redis sink's per-replica streams).
 */
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { JWK } from 'jose';
import { AdminActionError } from '../admin/admin-actions.js';
import type { ChainedRecord } from '../attribution/chain.js';
import type { QueryFilter } from '../attribution/query.js';
import { LastN, reasonMatches } from './overview.js';
import type { RecordSource } from '../attribution/record-source.js';

const FILTER_KEYS = ['agent', 'user', 'tool', 'decision', 'type', 'from', 'to'] as const;

export function filterOf(ctx: Context): { filter: QueryFilter; reason?: string } {
  const filter: Record<string, string> = {};
  for (const key of FILTER_KEYS) {
    const value = ctx.query[key];
    if (typeof value === 'string' && value !== '') filter[key] = value;
  }
  if (filter.decision !== undefined && filter.decision !== 'granted' && filter.decision !== 'denied') {
    throw new AdminActionError('invalid_request', 'decision is granted or denied');
  }
  for (const key of ['from', 'to'] as const) {
    if (filter[key] !== undefined && Number.isNaN(Date.parse(filter[key]))) throw new AdminActionError('invalid_request', `${key} must be an ISO 8601 time`);
  }
  const reason = typeof ctx.query.reason === 'string' && ctx.query.reason !== '' ? ctx.query.reason : undefined;
  return { filter, ...(reason !== undefined ? { reason } : {}) };
}

function intParam(value: unknown, fallback: number, max: number): number {
  const n = typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : fallback;
}

export function explorerRoutes(router: Router, viewer: Middleware, source: RecordSource | undefined, checkpointKeys: () => readonly JWK[]): void {
  const records = (filter: QueryFilter): AsyncGenerator<ChainedRecord> => {
    if (!source) throw new AdminActionError('not_implemented', 'no attribution log can be read with this configuration');
    return source.query(filter);
  };

  router.get('/records', viewer, async (ctx) => {
    const { filter, reason } = filterOf(ctx);
    const last = new LastN<ChainedRecord>(intParam(ctx.query.limit, 100, 1000));
    for await (const r of records(filter)) if (reasonMatches(r, reason)) last.push(r);
    ctx.body = { records: last.newestFirst(), matched: last.count, sink: source?.kind };
  });

  // A live tail: the records after a position (the page polls with the last one it has). With several
  // chains (Redis sink) the position is a time, as seq numbers are per chain.
  router.get('/tail', viewer, async (ctx) => {
    const after = typeof ctx.query.after === 'string' && /^\d{1,15}$/u.test(ctx.query.after) ? Number(ctx.query.after) : undefined;
    const last = new LastN<ChainedRecord>(200);
    let head = 0;
    const position = (r: ChainedRecord): number => (source?.kind === 'redis' ? Date.parse(r.time) : r.seq);
    for await (const r of records({})) {
      head = Math.max(head, position(r));
      if (after === undefined || position(r) > after) last.push(r);
    }
    ctx.body = { records: after === undefined ? [] : last.newestFirst(), head };
  });

  router.get('/records/:id', viewer, async (ctx) => {
    if (!source) throw new AdminActionError('not_implemented', 'no attribution log can be read with this configuration');
    const found = await source.find((ctx.params as { id: string }).id);
    if (!found) throw new AdminActionError('not_found', 'no record with this id');
    const link = (r: ChainedRecord | undefined) => (r ? { id: r.id, seq: r.seq, hash: r.hash } : null);
    const { record } = found;
    ctx.body = {
      record,
      chain: {
        seq: record.seq, prev: record.prev, hash: record.hash, previous: link(found.previous), next: link(found.next), linked: found.linked,
        ...(found.chain !== undefined ? { stream: found.chain } : {}),
      },
    };
  });

  router.get('/verify', viewer, async (ctx) => {
    if (!source) throw new AdminActionError('not_implemented', 'no attribution log can be read with this configuration');
    ctx.body = { ...(await source.verify(checkpointKeys())), sink: source.kind };
  });

  router.get('/export', viewer, async (ctx) => {
    const { filter, reason } = filterOf(ctx);
    const limit = intParam(ctx.query.limit, 100_000, 100_000);
    const lines: string[] = [];
    for await (const r of records(filter)) {
      if (!reasonMatches(r, reason)) continue;
      lines.push(JSON.stringify(r));
      if (lines.length >= limit) break;
    }
    ctx.type = 'application/x-ndjson';
    ctx.set('Content-Disposition', 'attachment; filename="attribution-export.jsonl"');
    ctx.body = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  });
}
