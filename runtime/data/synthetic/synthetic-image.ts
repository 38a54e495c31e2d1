import { Prng } from '../../../common/prng.ts';
import type { RgbImage } from '../../image/rgb-image.ts';
import type { Point } from '../../pose/affine.ts';
import type { MpiiAnnotation } from '../mpii-sample.ts';
import { addNoise, drawBackground, drawFigure, type Figure, rectangle } from './figure.ts';
import { Canvas } from './raster.ts';

/**
 * The drawing half of `hrnet synth`, with no file or Node module: write-dataset.ts encodes and writes
 * what these draw, and the browser page trains on them directly.
 */

export type SyntheticFormat = 'mpii' | 'coco';

export interface SyntheticOptions {
  readonly format: SyntheticFormat;
  /** Training images; the validation split gets `validation` more. */
  readonly train: number;
  readonly validation: number;
  readonly seed: number;
  /** [width, height] of every image. */
  readonly size: readonly [number, number];
  readonly out: string;
  readonly onImage?: (done: number, total: number) => void;
}

/** A person as drawn, with what can be seen of it. */
export interface DrawnPerson {
  readonly figure: Figure;
  readonly owner: number;
}

/** Mixes a seed with the split and the image index, so every image has its own reproducible stream. */
export function imageSeed(seed: number, split: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [split, index]) {
    h = Math.imul(h ^ v, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
  }
  return h >>> 0;
}

export function inFrame([x, y]: Point, width: number, height: number): boolean {
  return x >= 0 && y >= 0 && x <= width - 1 && y <= height - 1;
}

export function ownerAt(canvas: Canvas, [x, y]: Point): number {
  return canvas.owner[Math.floor(y) * canvas.width + Math.floor(x)] ?? -1;
}

/** Draws one image: background, people (and a crowd for COCO, sometimes), occluders, noise. */
export function drawImage(
  prng: Prng,
  options: Pick<SyntheticOptions, 'format' | 'size'>,
): { canvas: Canvas; people: DrawnPerson[]; crowd?: number } {
  const [width, height] = options.size;
  const canvas = new Canvas(width, height);
  drawBackground(canvas, prng);
  const people: DrawnPerson[] = [];
  const count = options.format === 'mpii' ? 1 : 1 + Math.floor(prng.next() * 3);
  for (let p = 0; p < count; p++) {
    const tall =
      options.format === 'mpii' ? prng.uniform(0.55, 0.95) : prng.uniform(0.35, 0.9) / Math.sqrt(count);
    const bodyHeight = tall * height;
    const nearEdge = prng.next() < 0.15;
    const margin = nearEdge ? 0 : bodyHeight * 0.2;
    const cx = prng.uniform(margin + width * 0.1, width - margin - width * 0.1);
    const cy = prng.uniform(
      Math.min(height / 2, margin + bodyHeight * 0.35),
      Math.max(height / 2, height - margin - bodyHeight * 0.45),
    );
    people.push({ figure: drawFigure(canvas, prng, p, [cx, cy], bodyHeight), owner: p });
  }
  let crowd: number | undefined;
  if (options.format === 'coco' && prng.next() < 0.1) {
    crowd = 100;
    const cx = prng.uniform(0.2, 0.8) * width;
    const cy = prng.uniform(0.3, 0.7) * height;
    for (let k = 0; k < 4; k++)
      drawFigure(
        canvas,
        prng,
        crowd,
        [cx + (k - 1.5) * width * 0.06, cy + prng.uniform(-4, 4)],
        height * 0.3,
      );
  }
  const occluders = prng.next() < 0.35 ? 1 + Math.floor(prng.next() * 2) : 0;
  for (let o = 0; o < occluders; o++) {
    const target = people[Math.floor(prng.next() * people.length)]!.figure;
    const joint = target.mpii[Math.floor(prng.next() * 16)]!;
    const size = target.height * prng.uniform(0.12, 0.3);
    const color = [prng.uniform(0, 255), prng.uniform(0, 255), prng.uniform(0, 255)].map(Math.round) as [
      number,
      number,
      number,
    ];
    canvas.polygon(
      rectangle(
        joint[0] + prng.uniform(-size, size) / 2,
        joint[1] + prng.uniform(-size, size) / 2,
        size,
        size * prng.uniform(0.5, 1.5),
        prng.uniform(0, Math.PI),
      ),
      color,
      -2,
    );
  }
  addNoise(canvas, prng, 6);
  return { canvas, people, crowd };
}

export const round = (v: number) => Math.round(v * 100) / 100;

/**
 * One MPII person as the MPII files store it: the annotation (1-based joints, center raised by
 * 15·scale, which the loader lowers again), and its 0-based ground truth for PCKh.
 */
export function mpiiRecord(
  canvas: Canvas,
  person: DrawnPerson,
  name: string,
): {
  annotation: MpiiAnnotation & { joints: [number, number][]; joints_vis: number[] };
  joints: number[][];
  missing: number[];
  headbox: number[][];
} {
  const { figure, owner } = person;
  const visibleJoint = (p: Point) => inFrame(p, canvas.width, canvas.height) && ownerAt(canvas, p) === owner;
  const points = [...figure.mpii, ...figure.headBox];
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const scale = (Math.max(...ys) - Math.min(...ys)) / 200;
  const center: Point = [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
  const visibility = figure.mpii.map((p) => (visibleJoint(p) ? 1 : 0));
  return {
    annotation: {
      image: name,
      center: [round(center[0] + 1), round(center[1] + 1 - 15 * scale)],
      scale: Math.round(scale * 10000) / 10000,
      joints: figure.mpii.map((p) => [round(p[0] + 1), round(p[1] + 1)] as [number, number]),
      joints_vis: visibility,
    },
    joints: figure.mpii.map((p) => [round(p[0]), round(p[1])]),
    missing: visibility.map((v) => 1 - v),
    headbox: figure.headBox.map((p) => [round(p[0]), round(p[1])]),
  };
}

/** The name `hrnet synth` gives an MPII image. */
export function mpiiImageName(split: string, index: number): string {
  return `${split}_${String(index + 1).padStart(6, '0')}.jpg`;
}

/**
 * Training image `index` of `hrnet synth --format mpii --seed SEED` (before JPEG encoding) and its
 * annotation, for a caller that trains on the pixels without writing files.
 */
export function syntheticMpiiImage(
  seed: number,
  index: number,
  size: readonly [number, number],
): { image: RgbImage; annotation: MpiiAnnotation } {
  const prng = new Prng(imageSeed(seed, 0, index));
  const { canvas, people } = drawImage(prng, { format: 'mpii', size });
  const { annotation } = mpiiRecord(canvas, people[0]!, mpiiImageName('train', index));
  return { image: { width: canvas.width, height: canvas.height, data: canvas.data }, annotation };
}
