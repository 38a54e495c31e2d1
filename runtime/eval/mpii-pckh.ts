import { UserError } from '../../common/user-error.ts';

/** The MPII ground truth for PCKh, as in annot/gt_valid.mat (0-based pixel coordinates). */
export interface MpiiGroundTruth {
  /** [annotation][16][x, y]. */
  readonly joints: readonly (readonly (readonly [number, number])[])[];
  /** [annotation][16]: 1 where the joint is missing. */
  readonly jointsMissing: readonly (readonly number[])[];
  /** [annotation][[x1, y1], [x2, y2]]. */
  readonly headboxes: readonly (readonly [readonly [number, number], readonly [number, number]])[];
}

export const mpiiPckhNames = [
  'Head',
  'Shoulder',
  'Elbow',
  'Wrist',
  'Hip',
  'Knee',
  'Ankle',
  'Mean',
  'Mean@0.1',
] as const;
export type MpiiPckh = Record<(typeof mpiiPckhNames)[number], number>;

/** MPII joint order (see runtime/pose/joints.ts). */
const joint = {
  rank: 0,
  rkne: 1,
  rhip: 2,
  lhip: 3,
  lkne: 4,
  lank: 5,
  pelvis: 6,
  thorax: 7,
  head: 9,
  rwri: 10,
  relb: 11,
  rsho: 12,
  lsho: 13,
  lelb: 14,
  lwri: 15,
} as const;

/**
 * The official MPII evaluation (lib/dataset/mpii.py evaluate): a joint is correct when its distance
 * to the ground truth is at most 0.5 × 0.6 × the head box diagonal; percentages per joint over the
 * annotations where it is not missing. Mean weights joints by their counts and leaves out pelvis and
 * thorax. Mean@0.1 is the official one: it reads row 11 of thresholds arange(0, 0.51, 0.01), i.e.
 * the threshold 0.11, not 0.1. A joint with no visible instance gives NaN, as the official code does.
 */
export function mpiiPckh(
  predictions: readonly (readonly (readonly [number, number])[])[],
  gt: MpiiGroundTruth,
): MpiiPckh {
  const count = gt.joints.length;
  if (predictions.length !== count) {
    throw new UserError(
      `MPII predictions hold ${predictions.length} annotations but the ground truth holds ${count}`,
    );
  }
  const scaledErrors: number[][] = [];
  const visible: number[][] = [];
  for (let a = 0; a < count; a++) {
    const [[x1, y1], [x2, y2]] = gt.headboxes[a]!;
    const headSize = Math.hypot(x2 - x1, y2 - y1) * 0.6;
    const row: number[] = [];
    const vis: number[] = [];
    for (let j = 0; j < 16; j++) {
      const p = predictions[a]![j];
      const g = gt.joints[a]![j]!;
      if (!p) throw new UserError(`MPII prediction ${a} has fewer than 16 joints`);
      // The official code works in 1-based coordinates; the difference is the same.
      const v = 1 - gt.jointsMissing[a]![j]!;
      row.push((Math.hypot(p[0] - g[0], p[1] - g[1]) / headSize) * v);
      vis.push(v);
    }
    scaledErrors.push(row);
    visible.push(vis);
  }
  const jointCount = Array.from({ length: 16 }, (_, j) => visible.reduce((s, v) => s + v[j]!, 0));
  const pckAt = (threshold: number) =>
    Array.from({ length: 16 }, (_, j) => {
      let hits = 0;
      for (let a = 0; a < count; a++) if (scaledErrors[a]![j]! <= threshold && visible[a]![j]) hits++;
      return (100 * hits) / jointCount[j]!;
    });
  const pckh = pckAt(0.5);
  // arange(0, 0.5 + 0.01, 0.01)[11]: numpy computes start + 11 * step.
  const pck011 = pckAt(11 * 0.01);
  const counted = jointCount.map((c, j) => (j === joint.pelvis || j === joint.thorax ? 0 : c));
  const total = counted.reduce((s, c) => s + c, 0);
  const weighted = (values: number[]) =>
    values.reduce(
      (s, v, j) => (j === joint.pelvis || j === joint.thorax ? s : s + v * (counted[j]! / total)),
      0,
    );
  const pair = (a: number, b: number) => 0.5 * (pckh[a]! + pckh[b]!);
  return {
    Head: pckh[joint.head]!,
    Shoulder: pair(joint.lsho, joint.rsho),
    Elbow: pair(joint.lelb, joint.relb),
    Wrist: pair(joint.lwri, joint.rwri),
    Hip: pair(joint.lhip, joint.rhip),
    Knee: pair(joint.lkne, joint.rkne),
    Ankle: pair(joint.lank, joint.rank),
    Mean: weighted(pckh),
    'Mean@0.1': weighted(pck011),
  };
}
