import { applyAffine, getAffineTransform, type Point } from './affine.ts';

/** Heatmaps of one batch: [N, J, H, W] float32. */
export interface Heatmaps {
  readonly batch: number;
  readonly joints: number;
  readonly height: number;
  readonly width: number;
  readonly data: Float32Array;
}

export interface JointPrediction {
  /** In heatmap or image coordinates, depending on the step. */
  readonly x: number;
  readonly y: number;
  /** The heatmap maximum (the official maxvals). */
  readonly score: number;
}

/**
 * The official get_max_preds: per heatmap, the first location of the maximum (x = index mod width,
 * y = index div width) and the maximum; locations with a maximum ≤ 0 become (0, 0).
 */
export function maxPredictions(heatmaps: Heatmaps): JointPrediction[][] {
  const { batch, joints, height, width, data } = heatmaps;
  const plane = height * width;
  const result: JointPrediction[][] = [];
  for (let n = 0; n < batch; n++) {
    const row: JointPrediction[] = [];
    for (let j = 0; j < joints; j++) {
      const base = (n * joints + j) * plane;
      let best = 0;
      let bestValue = data[base]!;
      for (let i = 1; i < plane; i++) {
        if (data[base + i]! > bestValue) {
          bestValue = data[base + i]!;
          best = i;
        }
      }
      const positive = bestValue > 0;
      row.push({
        x: positive ? best % width : 0,
        y: positive ? Math.floor(best / width) : 0,
        score: bestValue,
      });
    }
    result.push(row);
  }
  return result;
}

/**
 * The official get_final_preds: argmax locations, the quarter-pixel step towards the higher
 * neighbour when POST_PROCESS (only when 1 < x < W−1 and 1 < y < H−1), then the inverse affine back
 * to the image from each sample's center and scale.
 */
export function finalPredictions(
  heatmaps: Heatmaps,
  centers: readonly Point[],
  scales: readonly Point[],
  postProcess: boolean,
): JointPrediction[][] {
  const { height, width, data, joints } = heatmaps;
  const plane = height * width;
  return maxPredictions(heatmaps).map((row, n) => {
    const back = getAffineTransform(centers[n]!, scales[n]!, 0, [width, height], [0, 0], true);
    return row.map((p, j) => {
      let { x, y } = p;
      if (postProcess) {
        const px = Math.floor(x + 0.5);
        const py = Math.floor(y + 0.5);
        if (px > 1 && px < width - 1 && py > 1 && py < height - 1) {
          const base = (n * joints + j) * plane;
          const at = (xx: number, yy: number) => data[base + yy * width + xx]!;
          x += Math.sign(at(px + 1, py) - at(px - 1, py)) * 0.25;
          y += Math.sign(at(px, py + 1) - at(px, py - 1)) * 0.25;
        }
      }
      const [ix, iy] = applyAffine(back, [x, y]);
      return { x: ix, y: iy, score: p.score };
    });
  });
}

/**
 * The official flip_back: mirror each heatmap horizontally and swap the left/right joint pairs;
 * with `shift` (SHIFT_HEATMAP), move the result one pixel right, as the official test code does.
 */
export function flipBack(
  heatmaps: Heatmaps,
  flipPairs: readonly (readonly [number, number])[],
  shift: boolean,
): Heatmaps {
  const { batch, joints, height, width, data } = heatmaps;
  const plane = height * width;
  const partner = Array.from({ length: joints }, (_, j) => j);
  for (const [a, b] of flipPairs) {
    partner[a] = b;
    partner[b] = a;
  }
  const out = new Float32Array(data.length);
  for (let n = 0; n < batch; n++) {
    for (let j = 0; j < joints; j++) {
      const source = (n * joints + partner[j]!) * plane;
      const target = (n * joints + j) * plane;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          // Shifted: column x takes what column x−1 held (column 0 keeps its own value).
          const column = shift && x > 0 ? x - 1 : x;
          out[target + y * width + x] = data[source + y * width + (width - 1 - column)]!;
        }
      }
    }
  }
  return { ...heatmaps, data: out };
}

/** (a + b) / 2 elementwise: the flip-test average. */
export function averageHeatmaps(a: Heatmaps, b: Heatmaps): Heatmaps {
  return { ...a, data: a.data.map((v, i) => (v + b.data[i]!) * 0.5) };
}
