import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Two cores: GPU test files share them with lavapipe's worker threads.
    maxWorkers: 2,
    // A guard against hangs, not a speed target: with an empty shader cache (as in CI) a GPU test first
    // compiles its kernels, a second or so each on lavapipe, while another test file competes for the cores.
    testTimeout: 900_000,
    hookTimeout: 900_000,
  },
});
