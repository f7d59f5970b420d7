/**
 * Tool time windows, evaluated in each window's IANA time zone with luxon (DST-correct).
 * `from` is inclusive, `to` exclusive; `to <= from` means the window starts on a listed day and
 * runs past midnight into the next day. An unparseable window or zone never matches (fail closed).
 */
import { DateTime } from 'luxon';
import { WEEKDAYS, type TimeWindow } from '../domain/catalog.js';

export type WindowPosition = { inside: true; endsAtMs: number | null } | { inside: false };

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/u;

/** "HH:MM" (00:00-23:59) as minutes since midnight, or undefined when malformed. */
export function parseHhMm(value: string): number | undefined {
  const match = HH_MM.exec(value);
  if (match === null) return undefined;
  return Number(match[1]) * 60 + Number(match[2]);
}

interface Span {
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * The local wall-clock time on a calendar date, as an instant. Luxon shifts a time inside a DST gap
 * forward and resolves a repeated (fall-back) time to one of its two instants.
 */
function instantAt(day: DateTime, minutes: number, zone: string): number {
  return DateTime.fromObject(
    { year: day.year, month: day.month, day: day.day, hour: Math.floor(minutes / 60), minute: minutes % 60 },
    { zone },
  ).toMillis();
}

/** The occurrence of `window` that starts on calendar date `day` (a UTC midnight), if it is one of its days. */
function occurrence(window: TimeWindow, day: DateTime, from: number, to: number): Span | undefined {
  const weekday = WEEKDAYS[day.weekday - 1];
  if (weekday === undefined || !window.days.includes(weekday)) return undefined;
  const endDay = to <= from ? day.plus({ days: 1 }) : day;
  return { startMs: instantAt(day, from, window.timeZone), endMs: instantAt(endDay, to, window.timeZone) };
}

/** End of the occurrence of `window` that contains `nowMs`, or undefined if none does. */
function containingEnd(window: TimeWindow, nowMs: number): number | undefined {
  const from = parseHhMm(window.from);
  const to = parseHhMm(window.to);
  if (from === undefined || to === undefined) return undefined;
  const local = DateTime.fromMillis(nowMs, { zone: window.timeZone });
  if (!local.isValid) return undefined;
  // Calendar arithmetic on the local date, kept zone-free so a zone whose midnight is skipped cannot shift it.
  const today = DateTime.fromObject({ year: local.year, month: local.month, day: local.day }, { zone: 'utc' });
  // An occurrence ends on its start date or the next one, so only those starting today or yesterday can contain now.
  const candidates = [occurrence(window, today, from, to), occurrence(window, today.minus({ days: 1 }), from, to)];
  let end: number | undefined;
  for (const span of candidates) {
    if (span !== undefined && span.startMs <= nowMs && nowMs < span.endMs) {
      end = end === undefined ? span.endMs : Math.max(end, span.endMs);
    }
  }
  return end;
}

export function currentWindow(windows: readonly TimeWindow[], nowMs: number): WindowPosition {
  if (windows.length === 0) return { inside: true, endsAtMs: null };
  let latestEnd: number | undefined;
  for (const window of windows) {
    const end = containingEnd(window, nowMs);
    if (end !== undefined) latestEnd = latestEnd === undefined ? end : Math.max(latestEnd, end);
  }
  return latestEnd === undefined ? { inside: false } : { inside: true, endsAtMs: latestEnd };
}
