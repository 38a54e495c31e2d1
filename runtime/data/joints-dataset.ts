import type { RgbImage } from '../image/image.ts';
import { mirrorImage } from '../image/mirror.ts';
import { toNetworkInput, warpAffine } from '../image/warp.ts';
import { applyAffine, getAffineTransform, type Point } from '../pose/affine.ts';
import type { JointSet } from '../pose/joints.ts';
import type { Augmentation } from './augmentation.ts';
import type { Sample } from './sample.ts';
import { generateTarget, type TargetSettings } from './targets.ts';

export interface ItemSettings extends TargetSettings {
  readonly colorRgb: boolean;
  readonly joints: JointSet;
}

/** One prepared training or validation item, in the layout the network and the loss take. */
export interface PreparedItem {
  /** 3 × H × W, normalised. */
  readonly input: Float32Array;
  /** J × h × w Gaussian heatmaps. */
  readonly target: Float32Array;
  /** J. */
  readonly targetWeight: Float32Array;
  /** Joints in input-crop pixels after the transform (for debug pictures). */
  readonly joints: readonly Point[];
  readonly visibility: readonly number[];
  readonly center: Point;
  readonly scale: Point;
  readonly rotation: number;
}

/**
 * The rest of JointsDataset.__getitem__ for given draws: flip (image, joints with their pairs,
 * center), the affine crop, normalisation, the joints' transform and the targets.
 */
export function prepareItem(
  image: RgbImage,
  sample: Sample,
  augmentation: Augmentation,
  settings: ItemSettings,
): PreparedItem {
  let source = image;
  let joints = sample.joints.map((p) => [p[0], p[1]] as Point);
  let visibility = [...sample.visibility];
  let center = augmentation.center;
  if (augmentation.flip) {
    source = mirrorImage(image);
    const flipped = flipJoints(joints, visibility, image.width, settings.joints.flipPairs);
    joints = flipped.joints;
    visibility = flipped.visibility;
    center = [image.width - center[0] - 1, center[1]];
  }
  const [width, height] = settings.imageSize;
  const transform = getAffineTransform(center, augmentation.scale, augmentation.rotation, [width, height]);
  const input = new Float32Array(3 * width * height);
  toNetworkInput(warpAffine(source, transform, width, height), settings.colorRgb, input);
  const transformed = joints.map((joint, j) => (visibility[j]! > 0 ? applyAffine(transform, joint) : joint));
  const { target, targetWeight } = generateTarget(transformed, visibility, settings);
  return {
    input,
    target,
    targetWeight,
    joints: transformed,
    visibility,
    center,
    scale: augmentation.scale,
    rotation: augmentation.rotation,
  };
}

/** The official fliplr_joints: x' = width − 1 − x, left/right pairs exchanged, joints × visibility. */
export function flipJoints(
  joints: readonly Point[],
  visibility: readonly number[],
  width: number,
  pairs: readonly (readonly [number, number])[],
): { joints: Point[]; visibility: number[] } {
  const flippedJoints = joints.map((p) => [width - p[0] - 1, p[1]] as Point);
  const flippedVisibility = [...visibility];
  for (const [a, b] of pairs) {
    [flippedJoints[a], flippedJoints[b]] = [flippedJoints[b]!, flippedJoints[a]!];
    [flippedVisibility[a], flippedVisibility[b]] = [flippedVisibility[b]!, flippedVisibility[a]!];
  }
  return {
    joints: flippedJoints.map(
      (p, j) => [p[0] * flippedVisibility[j]!, p[1] * flippedVisibility[j]!] as Point,
    ),
    visibility: flippedVisibility,
  };
}
