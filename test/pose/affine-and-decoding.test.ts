import { describe, expect, it } from 'vitest';
import { applyAffine, boxToCenterScale, getAffineTransform } from '../../runtime/pose/affine.ts';
import { finalPredictions, flipBack, type Heatmaps, maxPredictions } from '../../runtime/pose/heatmaps.ts';

function close(a: readonly number[], b: readonly number[], digits = 4): void {
  for (const [i, v] of a.entries()) expect(v).toBeCloseTo(b[i]!, digits);
}

describe('official affine crop', () => {
  it('maps the box around the center onto the output, width first (no rotation)', () => {
    // scale 1 = 200 px wide; output 64 wide: 0.32 output px per image px.
    const t = getAffineTransform([100, 80], [1, 1.25], 0, [64, 80]);
    close(applyAffine(t, [100, 80]), [32, 40]);
    close(applyAffine(t, [0, 80]), [0, 40]);
    close(applyAffine(t, [100, 80 - 125]), [32, 0]);
    const back = getAffineTransform([100, 80], [1, 1.25], 0, [64, 80], [0, 0], true);
    close(applyAffine(back, applyAffine(t, [37, 51])), [37, 51]);
  });

  it('rotates about the center: with 90°, the point right of center lands above it', () => {
    const t = getAffineTransform([50, 50], [0.5, 0.5], 90, [100, 100]);
    close(applyAffine(t, [50, 50]), [50, 50]);
    close(applyAffine(t, [50, 0]), [0, 50]);
    close(applyAffine(t, [100, 50]), [50, 0]);
  });

  it('shift moves the source box by a fraction of its size', () => {
    const t = getAffineTransform([100, 100], [1, 1], 0, [50, 50], [0.1, 0]);
    close(applyAffine(t, [120, 100]), [25, 25]);
  });

  it('_xywh2cs widens to the aspect ratio and enlarges by 1.25', () => {
    // Aspect 192/256 = 0.75: a 100x100 box becomes 100 wide x 133.3 high.
    const { center, scale } = boxToCenterScale(10, 20, 100, 100, 0.75);
    close(center, [60, 70]);
    close(scale, [(100 / 200) * 1.25, (100 / 0.75 / 200) * 1.25]);
    const tall = boxToCenterScale(0, 0, 30, 200, 0.75);
    close(tall.scale, [((200 * 0.75) / 200) * 1.25, (200 / 200) * 1.25]);
  });
});

function heatmaps(
  width: number,
  height: number,
  joints: number,
  fill: (j: number, x: number, y: number) => number,
): Heatmaps {
  const data = new Float32Array(joints * width * height);
  for (let j = 0; j < joints; j++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) data[(j * height + y) * width + x] = fill(j, x, y);
  return { batch: 1, joints, height, width, data };
}

describe('heatmap decoding', () => {
  it('get_max_preds: first maximum, x = index mod width; non-positive maxima give (0, 0)', () => {
    const h = heatmaps(5, 4, 3, (j, x, y) =>
      j === 0 ? (x === 3 && y === 2 ? 0.9 : 0.1) : j === 1 ? (x + y === 4 ? 0.5 : 0) : -1,
    );
    const [row] = maxPredictions(h);
    expect(row![0]).toEqual({ x: 3, y: 2, score: expect.closeTo(0.9, 6) });
    expect(row![1]).toMatchObject({ x: 4, y: 0 });
    expect(row![2]).toEqual({ x: 0, y: 0, score: -1 });
  });

  it('POST_PROCESS moves a quarter pixel towards the higher neighbour, not at the border', () => {
    const peak = (px: number, py: number) =>
      heatmaps(8, 8, 1, (_, x, y) =>
        x === px && y === py ? 1 : x === px + 1 && y === py ? 0.5 : y === py - 1 && x === px ? 0.3 : 0,
      );
    // Identity crop: center (4,4), scale 8/200 maps the 8x8 heatmap onto itself.
    const centers = [[4, 4] as const];
    const scales = [[8 / 200, 8 / 200] as const];
    close(
      [
        finalPredictions(peak(4, 4), centers, scales, true)[0]![0]!.x,
        finalPredictions(peak(4, 4), centers, scales, true)[0]![0]!.y,
      ],
      [4.25, 3.75],
    );
    close([finalPredictions(peak(4, 4), centers, scales, false)[0]![0]!.x], [4]);
    // x = 1 is not > 1: no step.
    close([finalPredictions(peak(1, 4), centers, scales, true)[0]![0]!.x], [1]);
  });

  it('flip_back mirrors, swaps pairs, and SHIFT_HEATMAP shifts one pixel right', () => {
    const h = heatmaps(4, 1, 2, (j, x) => j * 10 + x);
    expect([...flipBack(h, [[0, 1]], false).data]).toEqual([13, 12, 11, 10, 3, 2, 1, 0]);
    expect([...flipBack(h, [[0, 1]], true).data]).toEqual([13, 13, 12, 11, 3, 3, 2, 1]);
  });
});
