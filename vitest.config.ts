import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Test files that ran longest in a CI run (fresh clone, empty shader cache: 455, 315, 285, 230, 140,
 * 90, 65 and 55 s), slowest first. On a fresh clone vitest has no timings of its own and starts
 * files by size, which once left one worker running forward-parity alone for its last 4 minutes;
 * started first, the long files overlap the many short ones.
 */
const slowFirst = [
  'test/runtime/forward-parity.test.ts',
  'test/codegen/train-kernels.test.ts',
  'test/bad-inputs/output-paths.test.ts',
  'test/codegen/conv-direct.test.ts',
  'test/runtime/kernel-choice.test.ts',
  'test/cli/hrnet-train.test.ts',
  'test/browser/serve-train.test.ts',
  'test/weights/export.test.ts',
];

class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification) => {
      const at = slowFirst.indexOf(relative(file.project.config.root, file.moduleId));
      return at < 0 ? slowFirst.length : at;
    };
    return sorted
      .map((file, order) => ({ file, order }))
      .sort((a, b) => rank(a.file) - rank(b.file) || a.order - b.order)
      .map(({ file }) => file);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Two cores: GPU test files share them with lavapipe's worker threads.
    maxWorkers: 2,
    sequence: { sequencer: SlowFirstSequencer },
    // A guard against hangs, not a speed target: with an empty shader cache (as in CI) a GPU test first
    // compiles its kernels, a second or so each on lavapipe, while another test file competes for the cores.
    testTimeout: 900_000,
    hookTimeout: 900_000,
  },
});
