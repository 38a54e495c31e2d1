import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../common/user-error.ts';
import { BatchLoader, epochOrder } from '../../runtime/data/batch-loader.ts';
import { cocoAnnotationFile, loadCocoGroundTruth, loadCocoSamples } from '../../runtime/data/coco.ts';
import { detectFormat, loadDataset } from '../../runtime/data/dataset.ts';
import { loadMpiiGroundTruth, loadMpiiSamples } from '../../runtime/data/mpii.ts';
import { writeSyntheticDataset } from '../../runtime/data/synthetic/write-dataset.ts';
import { cocoKeypointEval } from '../../runtime/eval/coco-eval.ts';
import { mpiiPckh } from '../../runtime/eval/mpii-pckh.ts';
import { mpiiJoints } from '../../runtime/pose/joints.ts';

const work = mkdtempSync(join(tmpdir(), 'hrnetc-data-'));
const mpiiRoot = join(work, 'mpii');
const cocoRoot = join(work, 'coco');
writeSyntheticDataset({ format: 'mpii', train: 12, validation: 10, seed: 3, size: [96, 96], out: mpiiRoot });
writeSyntheticDataset({ format: 'coco', train: 10, validation: 10, seed: 4, size: [128, 96], out: cocoRoot });

describe('synthetic datasets in the official layouts', () => {
  it('are deterministic for a seed', () => {
    const again = join(work, 'again');
    writeSyntheticDataset({ format: 'mpii', train: 12, validation: 10, seed: 3, size: [96, 96], out: again });
    expect(readFileSync(join(again, 'annot', 'train.json'))).toEqual(
      readFileSync(join(mpiiRoot, 'annot', 'train.json')),
    );
    expect(readFileSync(join(again, 'images', 'valid_000004.jpg'))).toEqual(
      readFileSync(join(mpiiRoot, 'images', 'valid_000004.jpg')),
    );
  });

  it('MPII: 16 joints, visibility, and ground truth that scores 100 against itself', () => {
    expect(detectFormat(mpiiRoot)).toBe('mpii');
    const samples = loadMpiiSamples(mpiiRoot, 'valid');
    expect(samples).toHaveLength(10);
    expect(samples[0]!.joints).toHaveLength(16);
    const gt = loadMpiiGroundTruth(join(mpiiRoot, 'annot', 'gt_valid.json'));
    const pckh = mpiiPckh(gt.joints as [number, number][][], gt);
    expect(pckh.Mean).toBeCloseTo(100, 9);
    expect(pckh['Mean@0.1']).toBeCloseTo(100, 9);
  });

  it('COCO: keypoints, areas and boxes, and ground truth that scores AP 1 against itself', () => {
    expect(detectFormat(cocoRoot)).toBe('coco');
    const gt = loadCocoGroundTruth(cocoAnnotationFile(cocoRoot, 'val'));
    const people = gt.annotations.filter((a) => !a.iscrowd && a.num_keypoints > 0);
    expect(people.length).toBeGreaterThan(10);
    const results = people.map((a) => ({
      image_id: a.image_id,
      category_id: 1,
      keypoints: a.keypoints.map((v, k) => (k % 3 === 2 ? 1 : v)),
      score: 1,
    }));
    expect(cocoKeypointEval(gt, results).AP).toBeCloseTo(1, 9);
  });
});

describe('official loaders', () => {
  it('MPII: center lowered by 15·scale, scale × 1.25, then 1-based → 0-based', () => {
    const root = join(work, 'mpii-hand');
    mkdirSync(join(root, 'annot'), { recursive: true });
    const joints = Array.from({ length: 16 }, (_, j) => [10 + j, 20 + j]);
    writeFileSync(
      join(root, 'annot', 'train.json'),
      JSON.stringify([
        {
          image: 'a.jpg',
          center: [100, 50],
          scale: 2,
          joints,
          joints_vis: joints.map((_, j) => (j === 3 ? 0 : 1)),
        },
      ]),
    );
    const [sample] = loadMpiiSamples(root, 'train');
    expect(sample!.center).toEqual([99, 50 + 30 - 1]);
    expect(sample!.scale).toEqual([2.5, 2.5]);
    expect(sample!.joints[0]).toEqual([9, 19]);
    expect(sample!.visibility[3]).toBe(0);
    expect(sample!.image).toBe(join(root, 'images', 'a.jpg'));
  });

  it('COCO: crowd and keypoint-less objects skipped, boxes clipped to the image, visibility 2 → 1', () => {
    const root = join(work, 'coco-hand');
    mkdirSync(join(root, 'annotations'), { recursive: true });
    const keypoints = Array.from({ length: 17 }, (_, k) => [5 + k, 6 + k, k % 3]).flat();
    writeFileSync(
      join(root, 'annotations', 'person_keypoints_x.json'),
      JSON.stringify({
        images: [{ id: 7, width: 50, height: 40, file_name: 'seven.jpg' }],
        annotations: [
          {
            id: 1,
            image_id: 7,
            category_id: 1,
            bbox: [-5, 2, 30, 60],
            area: 100,
            iscrowd: 0,
            keypoints,
            num_keypoints: 11,
          },
          {
            id: 2,
            image_id: 7,
            category_id: 1,
            bbox: [0, 0, 10, 10],
            area: 50,
            iscrowd: 1,
            keypoints,
            num_keypoints: 11,
          },
          {
            id: 3,
            image_id: 7,
            category_id: 1,
            bbox: [0, 0, 10, 10],
            area: 50,
            iscrowd: 0,
            keypoints: new Array(51).fill(0),
            num_keypoints: 0,
          },
          {
            id: 4,
            image_id: 7,
            category_id: 1,
            bbox: [0, 0, 10, 10],
            area: 0,
            iscrowd: 0,
            keypoints,
            num_keypoints: 11,
          },
        ],
        categories: [{ id: 1 }],
      }),
    );
    const samples = loadCocoSamples(root, 'x', 0.75);
    expect(samples).toHaveLength(1);
    // clean_bbox: x1 = 0, y1 = 2, x2 = min(49, 0 + 29) = 29, y2 = min(39, 2 + 59) = 39 → [0, 2, 29, 37].
    expect(samples[0]!.center[0]).toBeCloseTo(14.5, 5);
    expect(samples[0]!.center[1]).toBeCloseTo(20.5, 5);
    // Aspect fix: 29 wide > 0.75 × 37, so the height becomes 29 / 0.75.
    expect(samples[0]!.scale[1]).toBeCloseTo((29 / 0.75 / 200) * 1.25, 5);
    expect(samples[0]!.visibility.slice(0, 4)).toEqual([0, 1, 1, 0]);
    expect(samples[0]!.image).toBe(join(root, 'images', 'x', 'seven.jpg'));
    // Loading a split checks that its images exist (contents are read later, per item).
    mkdirSync(join(root, 'images', 'x'), { recursive: true });
    writeFileSync(join(root, 'images', 'x', 'seven.jpg'), '');
    expect(loadDataset({ format: 'coco', root, imageSet: 'x', aspectRatio: 0.75 }).samples).toHaveLength(1);
  });
});

describe('batch loader', () => {
  const itemSettings = {
    imageSize: [64, 64] as [number, number],
    heatmapSize: [16, 16] as [number, number],
    sigma: 1,
    colorRgb: true,
    joints: mpiiJoints,
  };
  const augmentationSettings = {
    scaleFactor: 0.25,
    rotationFactor: 30,
    flip: true,
    numJointsHalfBody: 8,
    probHalfBody: 0.3,
    aspectRatio: 1,
    joints: mpiiJoints,
  };
  const samples = loadMpiiSamples(mpiiRoot, 'train');

  it('shuffles reproducibly per epoch and covers every sample', () => {
    const order = epochOrder(12, true, 5, 0);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(epochOrder(12, true, 5, 0)).toEqual(order);
    expect(epochOrder(12, true, 5, 1)).not.toEqual(order);
    expect(epochOrder(12, false, 5, 1)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('gives identical batches with worker threads and without, including the short last batch', async () => {
    const run = async (workers: number) => {
      const loader = new BatchLoader({
        samples,
        batchSize: 5,
        shuffle: true,
        augment: true,
        seed: 9,
        itemSettings,
        augmentationSettings,
        workers,
      });
      const batches = [];
      for await (const batch of loader.epoch(2)) batches.push(batch);
      await loader.close();
      return batches;
    };
    const inline = await run(0);
    const threaded = await run(2);
    expect(inline.map((b) => b.indices.length)).toEqual([5, 5, 2]);
    expect(threaded.map((b) => b.indices)).toEqual(inline.map((b) => b.indices));
    threaded.forEach((b, i) => {
      expect(b.input).toEqual(inline[i]!.input);
      expect(b.target).toEqual(inline[i]!.target);
      expect(b.targetWeight).toEqual(inline[i]!.targetWeight);
    });
    expect(inline[0]!.input.length).toBe(5 * 3 * 64 * 64);
    expect(Math.max(...inline[0]!.target)).toBe(1);
  });

  it('fails the epoch with a clear message when a worker exits without an error event', async () => {
    const loader = new BatchLoader({
      samples,
      batchSize: 5,
      shuffle: false,
      augment: false,
      seed: 9,
      itemSettings,
      workers: 1,
    });
    // What a kill from outside looks like to the loader: an 'exit', no 'error'.
    const [worker] = (loader as unknown as { workers: Worker[] }).workers;
    const epoch = loader.epoch(0);
    const first = epoch.next();
    await worker!.terminate();
    await expect(first).rejects.toThrow(/a data-loading worker stopped unexpectedly \(exit code \d+\)/);
    // Later batches fail at once rather than wait for a worker that is gone.
    await expect(loader.epoch(1).next()).rejects.toBeInstanceOf(UserError);
    await loader.close();
  });
});
