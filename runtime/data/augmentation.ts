import type { Prng } from '../../common/prng.ts';
import type { Point } from '../pose/affine.ts';
import { pixelStd } from '../pose/affine.ts';
import type { JointSet } from '../pose/joints.ts';
import type { Sample } from './sample.ts';

export interface AugmentationSettings {
  readonly scaleFactor: number;
  readonly rotationFactor: number;
  readonly flip: boolean;
  readonly numJointsHalfBody: number;
  readonly probHalfBody: number;
  /** width / height of the network input. */
  readonly aspectRatio: number;
  readonly joints: JointSet;
}

/** What one training draw decided for a sample. */
export interface Augmentation {
  readonly center: Point;
  readonly scale: Point;
  /** Degrees. */
  readonly rotation: number;
  readonly flip: boolean;
}

/** No augmentation: the sample's own box (validation and testing). */
export function identityAugmentation(sample: Sample): Augmentation {
  return { center: sample.center, scale: sample.scale, rotation: 0, flip: false };
}

/**
 * The official training draws of JointsDataset.__getitem__, in the same order: half body (when more
 * than NUM_JOINTS_HALF_BODY joints are visible and rand < PROB_HALF_BODY), then scale
 * s·clip(randn·sf + 1, 1 − sf, 1 + sf), rotation clip(randn·rf, −2rf, 2rf) with probability 0.6,
 * and a flip with probability 0.5.
 */
export function drawAugmentation(sample: Sample, settings: AugmentationSettings, prng: Prng): Augmentation {
  let center = sample.center;
  let scale = sample.scale;
  const visible = sample.visibility.reduce((n, v) => n + v, 0);
  if (visible > settings.numJointsHalfBody && prng.next() < settings.probHalfBody) {
    const half = halfBody(sample, settings, prng);
    if (half) ({ center, scale } = half);
  }
  const sf = settings.scaleFactor;
  const rf = settings.rotationFactor;
  const factor = Math.min(Math.max(prng.normal() * sf + 1, 1 - sf), 1 + sf);
  scale = [scale[0] * factor, scale[1] * factor];
  const rotation = prng.next() <= 0.6 ? Math.min(Math.max(prng.normal() * rf, -rf * 2), rf * 2) : 0;
  const flip = settings.flip && prng.next() <= 0.5;
  return { center, scale, rotation, flip };
}

/**
 * The official half_body_transform: the box of the upper or the lower body's visible joints (upper
 * when randn < 0.5 — the official code draws a normal here — and more than two are visible), widened
 * to the aspect ratio and enlarged by 1.5.
 */
function halfBody(
  sample: Sample,
  settings: AugmentationSettings,
  prng: Prng,
): { center: Point; scale: Point } | undefined {
  const upper: Point[] = [];
  const lower: Point[] = [];
  sample.joints.forEach((joint, j) => {
    if (sample.visibility[j]! > 0) (settings.joints.upperBody.includes(j) ? upper : lower).push(joint);
  });
  const selected = prng.normal() < 0.5 && upper.length > 2 ? upper : lower.length > 2 ? lower : upper;
  if (selected.length < 2) return undefined;
  const xs = selected.map((p) => Math.fround(p[0]));
  const ys = selected.map((p) => Math.fround(p[1]));
  const center: Point = [
    xs.reduce((a, b) => a + b, 0) / xs.length,
    ys.reduce((a, b) => a + b, 0) / ys.length,
  ];
  let w = Math.max(...xs) - Math.min(...xs);
  let h = Math.max(...ys) - Math.min(...ys);
  if (w > settings.aspectRatio * h) h = (w * 1.0) / settings.aspectRatio;
  else if (w < settings.aspectRatio * h) w = h * settings.aspectRatio;
  return { center, scale: [Math.fround(w / pixelStd) * 1.5, Math.fround(h / pixelStd) * 1.5] };
}
