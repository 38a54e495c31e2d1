import type { JointSet } from '../pose/joints.ts';
import type { RgbImage } from './image.ts';

export type Rgb = readonly [number, number, number];

/** A colour per limb, cycling through a hue wheel, so left and right limbs are told apart. */
export function limbColor(index: number, count: number): Rgb {
  const hue = (index / Math.max(1, count)) * 6;
  const f = hue - Math.floor(hue);
  const table: Rgb[] = [
    [255, Math.round(255 * f), 0],
    [Math.round(255 * (1 - f)), 255, 0],
    [0, 255, Math.round(255 * f)],
    [0, Math.round(255 * (1 - f)), 255],
    [Math.round(255 * f), 0, 255],
    [255, 0, Math.round(255 * (1 - f))],
  ];
  return table[Math.floor(hue) % 6]!;
}

export function copyImage(image: RgbImage): RgbImage {
  return { width: image.width, height: image.height, data: Uint8Array.from(image.data) };
}

function plot(image: RgbImage, x: number, y: number, color: Rgb, alpha = 1): void {
  const xi = Math.round(x);
  const yi = Math.round(y);
  if (xi < 0 || yi < 0 || xi >= image.width || yi >= image.height) return;
  const i = (yi * image.width + xi) * 3;
  const data = image.data as Uint8Array;
  for (let c = 0; c < 3; c++) data[i + c] = Math.round(data[i + c]! * (1 - alpha) + color[c]! * alpha);
}

export function fillCircle(image: RgbImage, cx: number, cy: number, radius: number, color: Rgb): void {
  for (let y = Math.floor(cy - radius); y <= Math.ceil(cy + radius); y++) {
    for (let x = Math.floor(cx - radius); x <= Math.ceil(cx + radius); x++) {
      if ((x - cx) ** 2 + (y - cy) ** 2 <= radius * radius) plot(image, x, y, color);
    }
  }
}

export function drawLine(
  image: RgbImage,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  thickness: number,
  color: Rgb,
): void {
  const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    fillCircle(image, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, thickness / 2, color);
  }
}

export interface DrawnJoint {
  readonly x: number;
  readonly y: number;
  /** Whether to draw it (a confident prediction, or a visible ground-truth joint). */
  readonly visible: boolean;
}

/** Draws limbs between visible joints and a dot on each, scaled to the image size. */
export function drawSkeleton(
  image: RgbImage,
  joints: readonly DrawnJoint[],
  set: JointSet,
  dotColor: Rgb = [255, 255, 255],
): void {
  const size = Math.max(2, Math.round(Math.min(image.width, image.height) / 80));
  set.skeleton.forEach(([a, b], i) => {
    const p = joints[a];
    const q = joints[b];
    if (p?.visible && q?.visible)
      drawLine(image, p.x, p.y, q.x, q.y, size, limbColor(i, set.skeleton.length));
  });
  for (const joint of joints) if (joint.visible) fillCircle(image, joint.x, joint.y, size * 0.9, dotColor);
}
