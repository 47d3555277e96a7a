import { defineConfig } from 'vitest/config';

// Unit tests run in plain Node: src/core must not need any browser API.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'signaling-server/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
