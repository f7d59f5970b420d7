/** `redis`: shared state for several replicas (schema and rules in ../redis-config.ts; REDIS_URL replaces `url`). */
import { redisSchema, redisSettingsFrom } from '../redis-config.js';
import type { Problems } from '../validate.js';
import { defineSection } from './section.js';

export const redisSection = defineSection({
  name: 'redis',
  shape: { redis: redisSchema.optional() },
  assemble({ redis }, ctx) {
    // A `redis` key that failed validation is already reported: no REDIS_URL fallback hides it.
    if (ctx.settings.has('redis') && redis === undefined) return {};
    const envUrl = ctx.env.REDIS_URL === '' ? undefined : ctx.env.REDIS_URL;
    const problems: Pick<Problems, 'add'> = { add: (file, path, message) => { ctx.reportIn(file, path, message); } };
    const settings = redisSettingsFrom(redis, { source: ctx.settings.source, baseDir: ctx.baseDir, env: ctx.env, problems, ...(envUrl === undefined ? {} : { envUrl }) });
    return settings ? { redis: settings } : {};
  },
});
