/** `rate_limits`: exchange rate limits per agent, per agent and tool, and per source address (before client authentication). */
import { z } from 'zod';
import { durationMillis } from '../validate.js';
import { defineSection } from './section.js';

export const rateLimitSchema = z.strictObject({ limit: z.number().int().min(1), window: durationMillis({ min: 1000, max: 3_600_000 }) });
export const windowLimit = (r: { limit: number; window: number } | undefined) => (r ? { limit: r.limit, windowMs: r.window } : undefined);

/** Before client authentication, per caller address (issue 14 item 5): far above one agent's own limit. */
export const DEFAULT_PER_SOURCE_LIMIT = { limit: 6000, windowMs: 60_000 } as const;
/** On unless a configuration says `off`: generous enough for real agents, tight enough to stop a runaway one. */
export const DEFAULT_RATE_LIMITS = {
  perAgent: { limit: 1200, windowMs: 60_000 },
  perAgentTool: { limit: 600, windowMs: 60_000 },
  perSource: DEFAULT_PER_SOURCE_LIMIT,
} as const;

export const rateLimitsSection = defineSection({
  name: 'rate-limits',
  shape: {
    rate_limits: z.union([z.literal('off'), z.strictObject({
      per_agent: rateLimitSchema.optional(),
      per_agent_tool: rateLimitSchema.optional(),
      per_source: z.union([z.literal('off'), rateLimitSchema]).optional(),
    })]).optional(),
  },
  assemble({ rate_limits: raw }) {
    if (raw === 'off') return {};
    if (raw === undefined) return { rateLimits: DEFAULT_RATE_LIMITS };
    const perAgent = windowLimit(raw.per_agent);
    const perAgentTool = windowLimit(raw.per_agent_tool);
    const perSource = raw.per_source === 'off' ? undefined : windowLimit(raw.per_source) ?? DEFAULT_PER_SOURCE_LIMIT;
    return { rateLimits: { ...(perAgent ? { perAgent } : {}), ...(perAgentTool ? { perAgentTool } : {}), ...(perSource ? { perSource } : {}) } };
  },
});
