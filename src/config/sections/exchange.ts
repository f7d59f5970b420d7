/**
 * How the token exchange reads its input: delegation depth, clock skew, the bounds on fetching a trusted
 * issuer's keys, the verified-token cache and the request limits (STANDARDS.md 10: bounded input).
 */
import { z } from 'zod';
import { byteSize, durationMillis, durationSeconds } from '../validate.js';
import { defineSection } from './section.js';

export const DEFAULT_LIMITS = { maxBodyBytes: 49152, maxTokenChars: 16384, maxScopes: 32 } as const;
export const DEFAULT_MAX_DELEGATION_DEPTH = 4;
export const DEFAULT_CLOCK_SKEW_SECONDS = 10;
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 2000;

export const exchangeSection = defineSection({
  name: 'exchange',
  shape: {
    delegation: z.strictObject({ max_depth: z.number().int().min(1).max(16) }).optional(),
    clock_skew: durationSeconds({ allowZero: true, max: 300 }).optional(),
    upstream_timeout: durationMillis({ min: 100, max: 60_000 }).optional(),
    upstream_max_bytes: byteSize({ min: 1024 }).optional(),
    upstream_max_keys: z.number().int().min(1).max(10_000).optional(),
    verified_token_cache: z.strictObject({ max_entries: z.number().int().min(0).max(1_000_000) }).optional(),
    limits: z
      .strictObject({
        max_body_bytes: z.number().int().min(1024).max(1024 * 1024).optional(),
        max_token_chars: z.number().int().min(1024).max(65536).optional(),
        max_scopes: z.number().int().min(1).max(256).optional(),
      })
      .optional(),
  },
  assemble(f) {
    return {
      maxDelegationDepth: f.delegation?.max_depth ?? DEFAULT_MAX_DELEGATION_DEPTH,
      clockSkewSeconds: f.clock_skew ?? DEFAULT_CLOCK_SKEW_SECONDS,
      upstreamTimeoutMs: f.upstream_timeout ?? DEFAULT_UPSTREAM_TIMEOUT_MS,
      ...(f.upstream_max_bytes !== undefined ? { upstreamMaxBytes: f.upstream_max_bytes } : {}),
      ...(f.upstream_max_keys !== undefined ? { upstreamMaxKeys: f.upstream_max_keys } : {}),
      ...(f.verified_token_cache ? { verifiedTokenCacheEntries: f.verified_token_cache.max_entries } : {}),
      limits: {
        maxBodyBytes: f.limits?.max_body_bytes ?? DEFAULT_LIMITS.maxBodyBytes,
        maxTokenChars: f.limits?.max_token_chars ?? DEFAULT_LIMITS.maxTokenChars,
        maxScopes: f.limits?.max_scopes ?? DEFAULT_LIMITS.maxScopes,
      },
    };
  },
});
