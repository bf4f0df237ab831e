import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The Windows path under Wine runs on its own afterwards (vitest.wine.config.ts, npm run
    // test:wine): at 60 Hz its reader must not share the two cores with the other test files.
    exclude: [...configDefaults.exclude, 'tests/wine-live.test.ts'],
    // The end-to-end tests load the built dashboard: build it once per run from the sources.
    globalSetup: ['tests/e2e/build-renderer.ts'],
    // Real sockets and child processes: generous per-test limits, but each test bounds its own waits.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two files at a time on this 2-core machine: the tests mostly wait on sockets and child
    // processes, and one at a time (vitest's default here) took npm test past five minutes.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
