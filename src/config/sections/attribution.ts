/** `attribution`: where decision records go (file or Redis stream), rotation, batching, redaction. */
import path from 'node:path';
import { z } from 'zod';
import type { BrokerConfig } from '../../domain/broker-config.js';
import { byteSize, check, describeValue, durationMillis, durationSeconds, isMapping, nonEmptyString } from '../validate.js';
import { defineSection } from './section.js';

/** File sink rotation unless a configuration says `rotate: off`. */
export const DEFAULT_ATTRIBUTION_ROTATION = { maxBytes: 256 * 1024 * 1024 } as const;
export const MIN_ROTATE_BYTES = 64 * 1024;
/** Unauthenticated denials from one address become one aggregate record per this interval. */
export const DEFAULT_UNAUTHENTICATED_INTERVAL_MS = 10_000;
/** Below this much free space on the attribution file's disk, /readyz says not ready and a warning is logged. */
export const DEFAULT_MIN_FREE_BYTES = 256 * 1024 * 1024;

const rotateObjectSchema = z.strictObject({
  max_bytes: byteSize({ min: MIN_ROTATE_BYTES }).optional(),
  max_age: durationSeconds({ max: 366 * 86_400 }).optional(),
});

type Rotate = 'off' | { maxBytes?: number; maxAgeSeconds?: number };

/** `off`, or `{ max_bytes?, max_age? }` with at least one of them; problems point at the field. */
const rotateSchema = z.unknown().transform((input, ctx): Rotate => {
  if (input === 'off') return 'off';
  if (!isMapping(input)) {
    ctx.addIssue({ code: 'custom', message: `must be off, or a mapping with max_bytes and/or max_age (got ${describeValue(input)})` });
    return z.NEVER;
  }
  const result = check(rotateObjectSchema, input);
  if (!result.ok) {
    for (const issue of result.issues) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
    return z.NEVER;
  }
  const { max_bytes: maxBytes, max_age: maxAgeSeconds } = result.data;
  if (maxBytes === undefined && maxAgeSeconds === undefined) {
    ctx.addIssue({ code: 'custom', message: 'needs max_bytes and/or max_age (or write `rotate: off`)' });
    return z.NEVER;
  }
  return { ...(maxBytes === undefined ? {} : { maxBytes }), ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }) };
});

function rotationFrom(raw: Rotate | undefined): Pick<BrokerConfig['attribution'], 'rotate'> {
  if (raw === 'off') return {};
  return { rotate: raw ?? DEFAULT_ATTRIBUTION_ROTATION };
}

export const attributionSection = defineSection({
  name: 'attribution',
  shape: {
    attribution: z.strictObject({
      file: nonEmptyString.optional(),
      sink: z.enum(['file', 'redis']).optional(),
      replica: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/u, 'must be 1-64 characters of A-Z a-z 0-9 . _ -').optional(),
      redact_users: z.enum(['none', 'hash']).optional(),
      redaction_key_file: nonEmptyString.optional(),
      rotate: rotateSchema.optional(),
      batch_window: durationMillis({ min: 1, max: 100 }).optional(),
      unauthenticated_interval: durationMillis({ min: 1000, max: 300_000 }).optional(),
      min_free: z.union([z.literal('off'), byteSize({ min: 1024 * 1024 })]).optional(),
    }).optional(),
  },
  assemble({ attribution: a }, { settings, baseDir }) {
    // The file itself is resolved with the other paths (settings.ts): BROKER_ATTRIBUTION_FILE may set it.
    if (settings.attributionFile === undefined) return undefined;
    return {
      attribution: {
        file: settings.attributionFile,
        ...(a?.sink ? { sink: a.sink } : {}),
        ...(a?.replica ? { replica: a.replica } : {}),
        ...(a?.redact_users ? { redactUsers: a.redact_users } : {}),
        ...(a?.redaction_key_file ? { redactionKeyFile: path.resolve(baseDir, a.redaction_key_file) } : {}),
        ...rotationFrom(a?.rotate),
        ...(a?.batch_window === undefined ? {} : { batchWindowMs: a.batch_window }),
        unauthenticatedIntervalMs: a?.unauthenticated_interval ?? DEFAULT_UNAUTHENTICATED_INTERVAL_MS,
        ...(a?.min_free === 'off' ? {} : { minFreeBytes: a?.min_free ?? DEFAULT_MIN_FREE_BYTES }),
      },
    };
  },
});
