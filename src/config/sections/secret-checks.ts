/** `secret_checks`: the agent-secret hash gate and failure throttle (src/auth/); absent = their defaults. */
import { z } from 'zod';
import { durationMillis } from '../validate.js';
import { defineSection } from './section.js';

const limitSchema = z.strictObject({ limit: z.number().int().min(1).max(100_000), window: durationMillis({ min: 1000, max: 3_600_000 }) });
const limit = (r: { limit: number; window: number } | undefined) => (r ? { limit: r.limit, windowMs: r.window } : undefined);

export const secretChecksSection = defineSection({
  name: 'secret-checks',
  shape: {
    secret_checks: z.strictObject({
      concurrency: z.number().int().min(1).max(3).optional(),
      max_queued: z.number().int().min(0).max(1000).optional(),
      rate: z.number().min(0.1).max(1000).optional(),
      burst: z.number().int().min(1).max(10_000).optional(),
      per_address: limitSchema.optional(),
      per_client: limitSchema.optional(),
    }).optional(),
  },
  assemble({ secret_checks: raw }) {
    if (raw === undefined) return {};
    const perAddress = limit(raw.per_address);
    const perClient = limit(raw.per_client);
    return {
      secretChecks: {
        ...(raw.concurrency === undefined ? {} : { concurrency: raw.concurrency }),
        ...(raw.max_queued === undefined ? {} : { maxQueued: raw.max_queued }),
        ...(raw.rate === undefined ? {} : { ratePerSecond: raw.rate }),
        ...(raw.burst === undefined ? {} : { burst: raw.burst }),
        ...(perAddress ? { perAddress } : {}),
        ...(perClient ? { perClient } : {}),
      },
    };
  },
});
