/** Schemas of quantities written with units: durations (duration.ts) and byte sizes. */
import { z } from 'zod';
import { DURATION_HINT, DURATION_MS_HINT, formatDuration, parseDuration, parseDurationMs } from '../duration.js';

/** Seconds; `max` is an upper bound in seconds. */
export function durationSeconds(options: { max?: number; allowZero?: boolean } = {}) {
  return z.unknown().transform((value, ctx): number => {
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: 'is required' });
      return z.NEVER;
    }
    const seconds = parseDuration(value, { allowZero: options.allowZero ?? false });
    if (seconds === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be ${DURATION_HINT}` });
      return z.NEVER;
    }
    if (options.max !== undefined && seconds > options.max) {
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${formatDuration(options.max)} (got ${formatDuration(seconds)})`,
      });
      return z.NEVER;
    }
    return seconds;
  });
}

/** Milliseconds, written as seconds or with an `ms` unit. */
export function durationMillis(options: { min?: number; max?: number } = {}) {
  return z.unknown().transform((value, ctx): number => {
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: 'is required' });
      return z.NEVER;
    }
    const ms = parseDurationMs(value);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be ${DURATION_MS_HINT}` });
      return z.NEVER;
    }
    if (options.min !== undefined && ms < options.min) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${options.min}ms (got ${ms}ms)` });
      return z.NEVER;
    }
    if (options.max !== undefined && ms > options.max) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${options.max}ms (got ${ms}ms)` });
      return z.NEVER;
    }
    return ms;
  });
}

const BYTE_UNITS: Readonly<Record<string, number>> = { B: 1, KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
export const BYTE_SIZE_HINT = 'a whole number of bytes or a size like "64MiB", "500MB" or "1GiB"';

/** Bytes, or undefined: a whole number, or a whole number with a unit (B, KB, MB, GB, KiB, MiB, GiB). */
export function parseByteSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+)\s*([KMG]i?B|B)$/u.exec(value);
  const unit = match?.[2] === undefined ? undefined : BYTE_UNITS[match[2]];
  if (!match?.[1] || unit === undefined) return undefined;
  const bytes = Number(match[1]) * unit;
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** A size in bytes, at least `min`. */
export function byteSize(options: { min: number }) {
  return z.unknown().transform((value, ctx): number => {
    const bytes = parseByteSize(value);
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: `must be ${BYTE_SIZE_HINT}` });
      return z.NEVER;
    }
    if (bytes < options.min) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${options.min} bytes (got ${bytes})` });
      return z.NEVER;
    }
    return bytes;
  });
}
