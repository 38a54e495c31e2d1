import { describe, expect, it } from 'vitest';
import { trainingAccuracy } from '../../runtime/eval/training-accuracy.ts';
import type { Heatmaps } from '../../runtime/pose/heatmaps.ts';

function peaks(
  batch: number,
  joints: number,
  size: number,
  at: (n: number, j: number) => [number, number] | undefined,
): Heatmaps {
  const data = new Float32Array(batch * joints * size * size);
  for (let n = 0; n < batch; n++) {
    for (let j = 0; j < joints; j++) {
      const p = at(n, j);
      if (p) data[((n * joints + j) * size + p[1]) * size + p[0]] = 1;
    }
  }
  return { batch, joints, height: size, width: size, data };
}

describe('official training accuracy (PCK on heatmap argmaxes)', () => {
  it('counts a joint correct within 0.5 of (h, w)/10 and skips targets at x ≤ 1 or y ≤ 1', () => {
    // 20x20 heatmaps: the threshold is 0.5 × 2 = 1 pixel (exclusive).
    const target = peaks(2, 3, 20, (_, j) => (j === 2 ? [1, 5] : [10, 10]));
    const output = peaks(2, 3, 20, (n, j) => (j === 0 ? [10, 10] : n === 0 ? [11, 10] : [10, 12]));
    const accuracy = trainingAccuracy(output, target);
    expect(accuracy.perJoint).toEqual([1, 0, -1]);
    expect(accuracy.average).toBe(0.5);
    expect(accuracy.count).toBe(2);
  });

  it('an all-zero output predicts (0, 0), which is far from every target', () => {
    const target = peaks(1, 2, 16, () => [8, 8]);
    const output = peaks(1, 2, 16, () => undefined);
    expect(trainingAccuracy(output, target).average).toBe(0);
  });
});
