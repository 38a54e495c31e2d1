import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { writeFileAtomic } from '../../../common/atomic-write.ts';
import { Prng } from '../../../common/prng.ts';
import type { Point } from '../../pose/affine.ts';
import { cocoJoints } from '../../pose/joints.ts';
import { addNoise, drawBackground, drawFigure, type Figure, rectangle } from './figure.ts';
import { Canvas } from './raster.ts';

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
interface DrawnPerson {
  readonly figure: Figure;
  readonly owner: number;
}

/** Mixes a seed with the split and the image index, so every image has its own reproducible stream. */
function imageSeed(seed: number, split: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [split, index]) {
    h = Math.imul(h ^ v, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
  }
  return h >>> 0;
}

function inFrame([x, y]: Point, width: number, height: number): boolean {
  return x >= 0 && y >= 0 && x <= width - 1 && y <= height - 1;
}

function ownerAt(canvas: Canvas, [x, y]: Point): number {
  return canvas.owner[Math.floor(y) * canvas.width + Math.floor(x)] ?? -1;
}

/** Draws one image: background, people (and a crowd for COCO, sometimes), occluders, noise. */
function drawImage(
  prng: Prng,
  options: SyntheticOptions,
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

function encode(canvas: Canvas): Uint8Array {
  const rgba = new Uint8Array(canvas.width * canvas.height * 4);
  for (let i = 0; i < canvas.width * canvas.height; i++) {
    rgba[i * 4] = canvas.data[i * 3]!;
    rgba[i * 4 + 1] = canvas.data[i * 3 + 1]!;
    rgba[i * 4 + 2] = canvas.data[i * 3 + 2]!;
    rgba[i * 4 + 3] = 255;
  }
  return jpeg.encode({ data: rgba, width: canvas.width, height: canvas.height }, 92).data;
}

/** The visible region of an owner: pixel count and tight box [x, y, w, h]. */
function region(canvas: Canvas, owner: number): { area: number; bbox: [number, number, number, number] } {
  let area = 0;
  let [x0, y0, x1, y1] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, -1, -1];
  for (let y = 0; y < canvas.height; y++) {
    for (let x = 0; x < canvas.width; x++) {
      if (canvas.owner[y * canvas.width + x] !== owner) continue;
      area++;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  }
  return { area, bbox: area ? [x0, y0, x1 - x0 + 1, y1 - y0 + 1] : [0, 0, 0, 0] };
}

const round = (v: number) => Math.round(v * 100) / 100;

/**
 * Writes a synthetic dataset in the official layouts. MPII: images/, annot/{train,valid}.json (1-based
 * joints, joints_vis, center and scale as the MPII files hold them) and annot/gt_valid.json for PCKh.
 * COCO: images/{train,val}/ and annotations/person_keypoints_{train,val}.json. Joints outside the image
 * or covered by something else are not visible (MPII 0; COCO 1 when covered, 0 and (0, 0) when outside).
 */
export function writeSyntheticDataset(options: SyntheticOptions): { images: number; annotations: number } {
  const splits = options.format === 'mpii' ? ['train', 'valid'] : ['train', 'val'];
  const total = options.train + options.validation;
  let done = 0;
  let annotations = 0;
  splits.forEach((split, splitIndex) => {
    const count = splitIndex === 0 ? options.train : options.validation;
    const mpii: object[] = [];
    const gt = {
      joints: [] as number[][][],
      joints_missing: [] as number[][],
      headboxes: [] as number[][][],
    };
    const images: object[] = [];
    const cocoAnnotations: object[] = [];
    for (let i = 0; i < count; i++) {
      const prng = new Prng(imageSeed(options.seed, splitIndex, i));
      const { canvas, people, crowd } = drawImage(prng, options);
      const [width, height] = options.size;
      const visibleJoint = (p: Point, owner: number) =>
        inFrame(p, width, height) && ownerAt(canvas, p) === owner;
      if (options.format === 'mpii') {
        const name = `${split}_${String(i + 1).padStart(6, '0')}.jpg`;
        writeFileAtomic(join(options.out, 'images', name), encode(canvas));
        const { figure, owner } = people[0]!;
        const points = [...figure.mpii, ...figure.headBox];
        const xs = points.map((p) => p[0]);
        const ys = points.map((p) => p[1]);
        const scale = (Math.max(...ys) - Math.min(...ys)) / 200;
        const center: Point = [
          (Math.min(...xs) + Math.max(...xs)) / 2,
          (Math.min(...ys) + Math.max(...ys)) / 2,
        ];
        const visibility = figure.mpii.map((p) => (visibleJoint(p, owner) ? 1 : 0));
        // Stored as the MPII files are: 1-based, center raised by 15·scale (the loader lowers it again).
        mpii.push({
          image: name,
          center: [round(center[0] + 1), round(center[1] + 1 - 15 * scale)],
          scale: Math.round(scale * 10000) / 10000,
          joints: figure.mpii.map((p) => [round(p[0] + 1), round(p[1] + 1)]),
          joints_vis: visibility,
        });
        gt.joints.push(figure.mpii.map((p) => [round(p[0]), round(p[1])]));
        gt.joints_missing.push(visibility.map((v) => 1 - v));
        gt.headboxes.push(figure.headBox.map((p) => [round(p[0]), round(p[1])]));
        annotations++;
      } else {
        const id = splitIndex * 1_000_000 + i + 1;
        const fileName = `${String(id).padStart(12, '0')}.jpg`;
        writeFileAtomic(join(options.out, 'images', split, fileName), encode(canvas));
        images.push({ id, file_name: fileName, width, height });
        for (const { figure, owner } of people) {
          const { area, bbox } = region(canvas, owner);
          if (area === 0) continue;
          const keypoints = figure.coco.flatMap((p, k) => {
            const isFace = k < 5;
            if (!inFrame(p, width, height) || (isFace && !figure.faceVisible)) return [0, 0, 0];
            return [round(p[0]), round(p[1]), ownerAt(canvas, p) === owner ? 2 : 1];
          });
          cocoAnnotations.push({
            id: id * 10 + owner + 1,
            image_id: id,
            category_id: 1,
            bbox,
            area,
            iscrowd: 0,
            keypoints,
            num_keypoints: keypoints.filter((_, k) => k % 3 === 2 && keypoints[k]! > 0).length,
          });
          annotations++;
        }
        if (crowd !== undefined) {
          const { area, bbox } = region(canvas, crowd);
          if (area > 0) {
            cocoAnnotations.push({
              id: id * 10 + 9,
              image_id: id,
              category_id: 1,
              bbox,
              area,
              iscrowd: 1,
              keypoints: new Array(51).fill(0),
              num_keypoints: 0,
            });
          }
        }
      }
      options.onImage?.(++done, total);
    }
    if (options.format === 'mpii') {
      writeFileAtomic(join(options.out, 'annot', `${split}.json`), JSON.stringify(mpii));
      if (split === 'valid') writeFileAtomic(join(options.out, 'annot', 'gt_valid.json'), JSON.stringify(gt));
    } else {
      const categories = [
        {
          id: 1,
          name: 'person',
          supercategory: 'person',
          keypoints: cocoJoints.names,
          skeleton: cocoJoints.skeleton.map(([a, b]) => [a + 1, b + 1]),
        },
      ];
      writeFileAtomic(
        join(options.out, 'annotations', `person_keypoints_${split}.json`),
        JSON.stringify({ images, annotations: cocoAnnotations, categories }),
      );
    }
  });
  return { images: total, annotations };
}
