import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // A test that leaks an unhandled rejection or an uncaught exception fails (test/setup).
    setupFiles: ['test/setup/leak-trap.ts'],
    // Property tests and child-process tests are CPU-heavy; two cores on CI.
    maxWorkers: 2,
  },
});
