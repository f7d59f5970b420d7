/**
 * Step `per-source-limit`: before anything else, client authentication included, requests per caller
 * address (issue 14 item 5; source-limit.ts). Over the limit: 429 with Retry-After (RFC 6585 §4).
 */
import { deny } from '../../exchange/reasons.js';
import type { SourceLimiter } from '../source-limit.js';
import { defineStep, refuse } from '../pipeline/step.js';

export interface PerSourceLimitDeps {
  readonly sourceLimiter?: SourceLimiter;
  readonly now: () => number;
}

/** The one denial of this step: the fast refusal (fast-refusal.ts) answers with the same. */
export const SOURCE_LIMITED = deny('source_rate_limited', 'too many requests from this address; slow down');

export const perSourceLimit = defineStep<PerSourceLimitDeps>('per-source-limit', [], async (_facts, req, deps) => {
  if (!deps.sourceLimiter) return {};
  const retryAfter = await deps.sourceLimiter(req.address, deps.now());
  return retryAfter === undefined ? {} : refuse(SOURCE_LIMITED, { headers: { 'Retry-After': String(retryAfter) } });
});
