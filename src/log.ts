/** Structured JSON logs (pino). Tokens, assertions, secrets and Authorization headers are redacted by path. */
import { pino, type Logger } from 'pino';
import { traceLogFields } from './observability/tracing/log-fields.js';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'agent-token-broker' },
    // The active span's trace id on lines written inside an exchange (only when tracing is on).
    mixin: traceLogFields,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.subject_token', '*.actor_token', '*.client_assertion', '*.client_secret', '*.access_token'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
