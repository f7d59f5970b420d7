import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration tests start real HTTP servers on ephemeral ports; keep them in separate workers.
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
