/**
 * Durations in configuration files: a positive whole number of seconds (`300`), or a string with units
 * (`90s`, `5m`, `1h`, `1h30m`). Millisecond-valued settings additionally accept `ms` (`1500ms`).
 */

export const DURATION_HINT = 'a whole number of seconds or a duration like "90s", "5m" or "1h"';
export const DURATION_MS_HINT = 'a whole number of seconds or a duration like "500ms", "2s" or "1m"';

const COMPOUND = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/u;
const MILLIS = /^(\d+)ms$/u;

export interface DurationOptions {
  /** Accept 0 (e.g. no clock skew). Durations are otherwise strictly positive. */
  readonly allowZero?: boolean;
}

function acceptable(value: number, options: DurationOptions): boolean {
  return Number.isSafeInteger(value) && (value > 0 || (value === 0 && options.allowZero === true));
}

/** Seconds, or undefined if `value` is not an acceptable duration. */
export function parseDuration(value: unknown, options: DurationOptions = {}): number | undefined {
  if (typeof value === 'number') return acceptable(value, options) ? value : undefined;
  if (typeof value !== 'string' || value === '') return undefined;
  const match = COMPOUND.exec(value);
  if (!match) return undefined;
  const [, h, m, s] = match;
  const seconds = Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
  return acceptable(seconds, options) ? seconds : undefined;
}

/** Milliseconds, or undefined. Plain numbers and unit-less parts are seconds, as in `parseDuration`. */
export function parseDurationMs(value: unknown, options: DurationOptions = {}): number | undefined {
  if (typeof value === 'string') {
    const match = MILLIS.exec(value);
    if (match) {
      const ms = Number(match[1]);
      return acceptable(ms, options) ? ms : undefined;
    }
  }
  const seconds = parseDuration(value, options);
  return seconds === undefined ? undefined : seconds * 1000;
}

/** Shortest readable form of a number of seconds: 3600 -> "1h", 90 -> "1m30s", 0 -> "0s". */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`;
}
