/** `revocation_feed` (subscriber caps of the feed validators follow) and `revoke_rate_limit` (RFC 7009 calls per agent). */
import { z } from 'zod';
import { defineSection } from './section.js';
import { rateLimitSchema } from './rate-limits.js';

export const revocationSection = defineSection({
  name: 'revocation',
  shape: {
    revocation_feed: z.strictObject({ max_subscribers: z.number().int().min(1).max(100_000).optional(), max_subscribers_per_key: z.number().int().min(1).max(100_000).optional() }).optional(),
    revoke_rate_limit: rateLimitSchema.optional(),
  },
  assemble: ({ revocation_feed: feed, revoke_rate_limit: revoke }) => ({
    ...(feed ? { revocationFeed: { ...(feed.max_subscribers ? { maxSubscribers: feed.max_subscribers } : {}), ...(feed.max_subscribers_per_key ? { maxPerKey: feed.max_subscribers_per_key } : {}) } } : {}),
    ...(revoke ? { revokeRateLimit: { limit: revoke.limit, windowMs: revoke.window } } : {}),
  }),
});
