import { defineConfig } from 'vitest/config';

// The live iRacing path under Wine (tests/wine-live.test.ts), run after the other tests by
// `npm test` and alone: the fake sim publishes at the sim's 60 Hz, and a reader starved of CPU
// by other test files would miss ticks that the test rightly counts as lost.
export default defineConfig({
  test: {
    include: ['tests/wine-live.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
