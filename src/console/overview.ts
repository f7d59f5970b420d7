/**
 * What the console's overview shows, computed from attribution records in one pass (pure: records and a
 * clock in, plain data out): exchanges per minute by decision over the last hour, the top denial reasons and
 * the kill-switch events of the last day, and each agent's last activity.
 */
import type { ChainedRecord } from '../attribution/chain.js';

export const OVERVIEW_MINUTES = 60;
export const OVERVIEW_WINDOW_MS = 24 * 3600_000;

export interface MinuteBucket { readonly minute: string; granted: number; denied: number }

export interface Overview {
  readonly perMinute: readonly MinuteBucket[];
  readonly totals: { granted: number; denied: number };
  readonly topDenialReasons: readonly { readonly reason: string; readonly count: number }[];
  readonly killSwitchEvents: readonly { readonly time: string; readonly action: string; readonly by: string; readonly target: string; readonly reason: string }[];
  readonly lastActivity: Readonly<Record<string, string>>;
}

export function summarise(records: Iterable<ChainedRecord>, nowMs: number): Overview {
  const firstMinute = Math.floor(nowMs / 60_000) - (OVERVIEW_MINUTES - 1);
  const perMinute: MinuteBucket[] = Array.from({ length: OVERVIEW_MINUTES }, (_, i) => ({
    minute: new Date((firstMinute + i) * 60_000).toISOString(), granted: 0, denied: 0,
  }));
  const totals = { granted: 0, denied: 0 };
  const reasons = new Map<string, number>();
  const killSwitchEvents: Overview['killSwitchEvents'][number][] = [];
  const lastActivity: Record<string, string> = {};
  for (const r of records) {
    const t = Date.parse(r.time);
    if (Number.isNaN(t) || t < nowMs - OVERVIEW_WINDOW_MS || t > nowMs + 60_000) continue;
    if (r.type === 'token_exchange') {
      totals[r.decision] += 1;
      if (r.decision === 'denied') reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
      const bucket = perMinute[Math.floor(t / 60_000) - firstMinute];
      if (bucket) bucket[r.decision] += 1;
      if (r.agent.client_id !== null) lastActivity[r.agent.client_id] = r.time;
    } else if (r.type === 'token_exchange_aggregate') {
      totals.denied += r.aggregate.count;
      for (const [reason, count] of Object.entries(r.aggregate.reasons)) reasons.set(reason, (reasons.get(reason) ?? 0) + count);
    } else if (r.type === 'admin_action' && r.by.startsWith('kill-switch:')) {
      killSwitchEvents.push({ time: r.time, action: r.action, by: r.by, target: `${r.target.kind}:${r.target.value}`, reason: r.reason });
    }
  }
  const topDenialReasons = [...reasons].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 10).map(([reason, count]) => ({ reason, count }));
  return { perMinute, totals, topDenialReasons, killSwitchEvents: killSwitchEvents.slice(-20).reverse(), lastActivity };
}

/** Filters of the attribution explorer beyond what `QueryFilter` has: the reason code. */
export function reasonMatches(record: ChainedRecord, reason: string | undefined): boolean {
  if (reason === undefined) return true;
  if (record.type === 'token_exchange' || record.type === 'admin_action') return record.reason === reason;
  if (record.type === 'token_exchange_aggregate') return reason in record.aggregate.reasons;
  return false;
}

/** Keeps the last `limit` items of a stream (the newest records), returned newest first. */
export class LastN<T> {
  readonly #items: T[] = [];
  count = 0;
  constructor(private readonly limit: number) {}
  push(item: T): void {
    this.count += 1;
    this.#items.push(item);
    if (this.#items.length > this.limit) this.#items.shift();
  }
  newestFirst(): T[] {
    return [...this.#items].reverse();
  }
}
