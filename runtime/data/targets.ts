import type { Point } from '../pose/affine.ts';

export interface TargetSettings {
  /** [width, height]. */
  readonly imageSize: readonly [number, number];
  readonly heatmapSize: readonly [number, number];
  readonly sigma: number;
  /** Per-joint loss weights (USE_DIFFERENT_JOINTS_WEIGHT), or undefined for all ones. */
  readonly jointsWeight?: readonly number[];
}

/**
 * The official generate_target: per joint an unnormalised Gaussian (peak 1, σ = SIGMA) on a patch of
 * 6σ+1 around μ = int(joint / stride + 0.5) (int truncates toward zero, as Python's does), and a
 * target weight of the joint's visibility, set to 0 when the patch lies entirely off the heatmap.
 */
export function generateTarget(
  joints: readonly Point[],
  visibility: readonly number[],
  settings: TargetSettings,
): { target: Float32Array; targetWeight: Float32Array } {
  const [hw, hh] = settings.heatmapSize;
  const count = joints.length;
  const target = new Float32Array(count * hw * hh);
  const targetWeight = Float32Array.from(visibility);
  const tmpSize = settings.sigma * 3;
  const strideX = settings.imageSize[0] / hw;
  const strideY = settings.imageSize[1] / hh;
  const size = 2 * tmpSize + 1;
  const center = Math.floor(size / 2);
  // np.exp over float32 arange, then stored as float32.
  const gaussian = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      gaussian[y * size + x] = Math.exp(-((x - center) ** 2 + (y - center) ** 2) / (2 * settings.sigma ** 2));
    }
  }
  for (let j = 0; j < count; j++) {
    const muX = Math.trunc(joints[j]![0] / strideX + 0.5);
    const muY = Math.trunc(joints[j]![1] / strideY + 0.5);
    const ul = [Math.trunc(muX - tmpSize), Math.trunc(muY - tmpSize)] as const;
    const br = [Math.trunc(muX + tmpSize + 1), Math.trunc(muY + tmpSize + 1)] as const;
    if (ul[0] >= hw || ul[1] >= hh || br[0] < 0 || br[1] < 0) {
      targetWeight[j] = 0;
      continue;
    }
    if (targetWeight[j]! > 0.5) {
      const x0 = Math.max(0, ul[0]);
      const x1 = Math.min(br[0], hw);
      const y0 = Math.max(0, ul[1]);
      const y1 = Math.min(br[1], hh);
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++)
          target[(j * hh + y) * hw + x] = gaussian[(y - ul[1]) * size + (x - ul[0])]!;
      }
    }
  }
  if (settings.jointsWeight)
    for (let j = 0; j < count; j++)
      targetWeight[j] = Math.fround(targetWeight[j]! * settings.jointsWeight[j]!);
  return { target, targetWeight };
}
