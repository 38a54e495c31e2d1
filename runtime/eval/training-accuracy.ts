import { type Heatmaps, maxPredictions } from '../pose/heatmaps.ts';

export interface TrainingAccuracy {
  /** Per joint, or -1 where no target location counted. */
  readonly perJoint: readonly number[];
  /** The average over joints that counted (0 when none did). */
  readonly average: number;
  /** How many joints counted. */
  readonly count: number;
}

/**
 * The official training accuracy (lib/core/evaluate.py accuracy): PCK between the argmaxes of the
 * output and of the target heatmaps, normalised by (h, w)/10, threshold 0.5. Kept as written: x is
 * divided by h/10 and y by w/10, and targets at x ≤ 1 or y ≤ 1 do not count.
 */
export function trainingAccuracy(output: Heatmaps, target: Heatmaps, threshold = 0.5): TrainingAccuracy {
  const predictions = maxPredictions(output);
  const targets = maxPredictions(target);
  const normX = output.height / 10;
  const normY = output.width / 10;
  const perJoint: number[] = [];
  let sum = 0;
  let count = 0;
  for (let j = 0; j < output.joints; j++) {
    let counted = 0;
    let hits = 0;
    for (let n = 0; n < output.batch; n++) {
      const t = targets[n]![j]!;
      const p = predictions[n]![j]!;
      if (!(t.x > 1 && t.y > 1)) continue;
      counted++;
      const distance = Math.hypot(
        Math.fround(p.x / normX) - Math.fround(t.x / normX),
        Math.fround(p.y / normY) - Math.fround(t.y / normY),
      );
      if (distance < threshold) hits++;
    }
    const accuracy = counted > 0 ? hits / counted : -1;
    perJoint.push(accuracy);
    if (accuracy >= 0) {
      sum += accuracy;
      count++;
    }
  }
  return { perJoint, average: count > 0 ? sum / count : 0, count };
}
