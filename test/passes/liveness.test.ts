import { describe, expect, it } from 'vitest';
import { liveRanges } from '../../compiler/passes/liveness.ts';

describe('live ranges (no device)', () => {
  it('run from the first write to the last read; inputs start before step 0, results end after the last', () => {
    // 0 (input) → step 0 writes 1 → step 1 writes 2 from 1 and 0 → step 2 writes 3 from 2.
    const ranges = liveRanges(
      [
        { reads: [0, 100], writes: [1] },
        { reads: [1, 0], writes: [2] },
        { reads: [2], writes: [3] },
      ],
      [0],
      [3],
    );
    expect(Object.fromEntries(ranges)).toEqual({
      0: { firstStep: -1, lastStep: 1 },
      1: { firstStep: 0, lastStep: 1 },
      2: { firstStep: 1, lastStep: 2 },
      3: { firstStep: 2, lastStep: 3 },
    });
    // A value read but never written nor given (a weight) has no range: it is not in the arena.
    expect(ranges.has(100)).toBe(false);
  });

  it('a value written by several launches lives from the first; one never read lives at its writes', () => {
    const ranges = liveRanges(
      [
        { reads: [0], writes: [5] },
        { reads: [0], writes: [6] },
        { reads: [0], writes: [5] },
        { reads: [5], writes: [7] },
      ],
      [0],
      [7],
    );
    expect(ranges.get(5)).toEqual({ firstStep: 0, lastStep: 3 });
    expect(ranges.get(6)).toEqual({ firstStep: 1, lastStep: 1 });
    expect(ranges.get(0)).toEqual({ firstStep: -1, lastStep: 2 });
  });
});
