import type { Point } from '../pose/affine.ts';
import type { Sample } from './sample.ts';

/** One entry of the official MPII annot/<set>.json (1-based Matlab coordinates). */
export interface MpiiAnnotation {
  readonly image: string;
  readonly center: readonly [number, number];
  readonly scale: number;
  readonly joints?: readonly (readonly [number, number])[];
  readonly joints_vis?: readonly number[];
}

/**
 * One entry of MPIIDataset._get_db, with the official adjustments (center y moved down by 15·scale and
 * scale × 1.25 to avoid cropping limbs, then 1-based → 0-based). `image` is where its pixels are; a
 * test-set entry (`withJoints` false) has no joints.
 */
export function mpiiSample(a: MpiiAnnotation, image: string, withJoints: boolean): Sample {
  let center: Point = [a.center[0], a.center[1]];
  let scale: Point = [a.scale, a.scale];
  if (center[0] !== -1) {
    center = [center[0], center[1] + 15 * scale[1]];
    scale = [scale[0] * 1.25, scale[1] * 1.25];
  }
  center = [center[0] - 1, center[1] - 1];
  const joints: Point[] = [];
  const visibility: number[] = [];
  for (let j = 0; j < 16; j++) {
    const joint = withJoints ? a.joints![j]! : undefined;
    joints.push(joint ? [joint[0] - 1, joint[1] - 1] : [0, 0]);
    visibility.push(withJoints ? a.joints_vis![j]! : 0);
  }
  return { image, center, scale, joints, visibility, score: 1 };
}
