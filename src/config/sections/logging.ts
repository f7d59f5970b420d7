/** `log_level` (BROKER_LOG_LEVEL overrides it). */
import { z } from 'zod';
import { defineSection } from './section.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

export const loggingSection = defineSection({
  name: 'logging',
  shape: { log_level: z.enum(LOG_LEVELS).optional() },
  assemble: (f) => ({ logLevel: f.log_level ?? 'info' }),
});
