/** `kill_switch`: triggers that suspend an agent automatically (on by default; `off` turns it off). */
import { z } from 'zod';
import { durationMillis } from '../validate.js';
import { defineSection } from './section.js';

export const DEFAULT_KILL_SWITCH = {
  rateLimitHits: { count: 50, windowMs: 60_000 },
  denialRatio: { ratio: 0.8, minRequests: 50, windowMs: 300_000 },
} as const;

export const killSwitchSection = defineSection({
  name: 'kill-switch',
  shape: {
    kill_switch: z.union([z.literal('off'), z.strictObject({
      rate_limit_hits: z.strictObject({ count: z.number().int().min(1), window: durationMillis({ min: 1000, max: 3_600_000 }) }).optional(),
      denial_ratio: z.strictObject({ ratio: z.number().gt(0).lt(1), min_requests: z.number().int().min(1), window: durationMillis({ min: 1000, max: 3_600_000 }) }).optional(),
      distinct_users: z.strictObject({ max: z.number().int().min(1), window: durationMillis({ min: 1000, max: 86_400_000 }) }).optional(),
    })]).optional(),
  },
  assemble({ kill_switch: raw }) {
    if (raw === 'off') return {};
    if (raw === undefined) return { killSwitch: DEFAULT_KILL_SWITCH };
    return {
      killSwitch: {
        ...(raw.rate_limit_hits ? { rateLimitHits: { count: raw.rate_limit_hits.count, windowMs: raw.rate_limit_hits.window } } : {}),
        ...(raw.denial_ratio ? { denialRatio: { ratio: raw.denial_ratio.ratio, minRequests: raw.denial_ratio.min_requests, windowMs: raw.denial_ratio.window } } : {}),
        ...(raw.distinct_users ? { distinctUsers: { max: raw.distinct_users.max, windowMs: raw.distinct_users.window } } : {}),
      },
    };
  },
});
