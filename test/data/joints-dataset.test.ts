import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Prng } from '../../common/prng.ts';
import { relativeError } from '../../common/relative-error.ts';
import { drawAugmentation } from '../../runtime/data/augmentation.ts';
import { prepareItem } from '../../runtime/data/joints-dataset.ts';
import { generateTarget } from '../../runtime/data/targets.ts';
import { readImage } from '../../runtime/image/image.ts';
import type { Point } from '../../runtime/pose/affine.ts';
import { cocoJoints, mpiiJoints } from '../../runtime/pose/joints.ts';
import { readSafetensors } from '../../runtime/weights/safetensors.ts';

interface Case {
  center: [number, number];
  scale: [number, number];
  rotation: number;
  flip: boolean;
  dataset: 'mpii' | 'coco';
  image_size: [number, number];
  heatmap_size: [number, number];
  sigma: number;
  color_rgb: boolean;
  joints: [number, number][];
  visibility: number[];
}

const cases = JSON.parse(
  readFileSync(new URL('../fixtures/images/transform-cases.json', import.meta.url), 'utf8'),
) as Case[];
/** scripts/reference/joints_dataset_reference.py: the official code with cv2.warpAffine on the same draws. */
const reference = readSafetensors(
  new URL('../reference/joints-dataset.safetensors', import.meta.url).pathname,
);
const image = readImage(new URL('../fixtures/images/person.png', import.meta.url).pathname);

describe('JointsDataset items equal the official transform path', () => {
  cases.forEach((c, i) => {
    it(`case ${i}: rotation ${c.rotation}°, flip ${c.flip}, ${c.dataset} ${c.image_size.join('x')}`, () => {
      const joints = c.dataset === 'coco' ? { ...cocoJoints } : mpiiJoints;
      const sample = {
        image: 'person.png',
        center: c.center,
        scale: c.scale,
        joints: c.joints as Point[],
        visibility: c.visibility,
        score: 1,
      };
      const item = prepareItem(
        image,
        sample,
        { center: c.center, scale: c.scale, rotation: c.rotation, flip: c.flip },
        {
          imageSize: c.image_size,
          heatmapSize: c.heatmap_size,
          sigma: c.sigma,
          colorRgb: c.color_rgb,
          joints,
        },
      );
      const ref = (name: string) => reference.get(`${i}.${name}`)!.data;
      const expectedJoints = ref('joints');
      item.joints.forEach((p, j) => {
        expect(p[0]).toBeCloseTo(expectedJoints[j * 2]!, 3);
        expect(p[1]).toBeCloseTo(expectedJoints[j * 2 + 1]!, 3);
      });
      // numpy's float32 exp is not correctly rounded (Math.exp then rounding is): allow one ulp.
      const expectedTarget = ref('target');
      const ulpMisses = item.target.filter(
        (v, k) => Math.abs(v - expectedTarget[k]!) > Math.abs(expectedTarget[k]!) * 2 ** -23,
      );
      expect(ulpMisses.length).toBe(0);
      expect([...item.targetWeight]).toEqual([...ref('target_weight')]);
      // The crop reproduces OpenCV's fixed-point warp: the normalised input equals the official one.
      expect(relativeError(item.input, ref('input'))).toBeLessThan(1e-6);
    });
  });
});

describe('targets and draws, by hand', () => {
  it('a joint at the heatmap center gets a unit peak with the σ=1 falloff; off-map joints weigh 0', () => {
    const { target, targetWeight } = generateTarget(
      [
        [32, 32],
        [200, 200],
        [30, 30],
      ],
      [1, 1, 0],
      { imageSize: [64, 64], heatmapSize: [16, 16], sigma: 1 },
    );
    // μ = int(32 / 4 + 0.5) = 8.
    expect(target[8 * 16 + 8]).toBe(1);
    expect(target[8 * 16 + 9]).toBeCloseTo(Math.exp(-0.5), 6);
    expect(target[8 * 16 + 11]).toBeCloseTo(Math.exp(-4.5), 6);
    expect(target[8 * 16 + 12]).toBe(0);
    expect([...targetWeight]).toEqual([1, 0, 0]);
    expect(target.slice(2 * 256).every((v) => v === 0)).toBe(true);
  });

  it('draws follow the official distributions and bounds, reproducibly', () => {
    const settings = {
      scaleFactor: 0.25,
      rotationFactor: 30,
      flip: true,
      numJointsHalfBody: 8,
      probHalfBody: 0,
      aspectRatio: 1,
      joints: mpiiJoints,
    };
    const sample = {
      image: '',
      center: [50, 50] as Point,
      scale: [1, 1] as Point,
      joints: Array.from({ length: 16 }, () => [50, 50] as Point),
      visibility: new Array(16).fill(1),
      score: 1,
    };
    const prng = new Prng(5);
    const draws = Array.from({ length: 2000 }, () => drawAugmentation(sample, settings, prng));
    expect(Math.min(...draws.map((d) => d.scale[0]))).toBeGreaterThanOrEqual(0.75);
    expect(Math.max(...draws.map((d) => d.scale[0]))).toBeLessThanOrEqual(1.25);
    expect(Math.max(...draws.map((d) => Math.abs(d.rotation)))).toBeLessThanOrEqual(60);
    const rotated = draws.filter((d) => d.rotation !== 0).length / draws.length;
    expect(rotated).toBeGreaterThan(0.55);
    expect(rotated).toBeLessThan(0.65);
    const flipped = draws.filter((d) => d.flip).length / draws.length;
    expect(flipped).toBeGreaterThan(0.45);
    expect(flipped).toBeLessThan(0.55);
    expect(drawAugmentation(sample, settings, new Prng(5))).toEqual(draws[0]);
  });
});
