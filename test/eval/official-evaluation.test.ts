import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCocoGroundTruth } from '../../runtime/data/coco.ts';
import { loadMpiiGroundTruth } from '../../runtime/data/mpii.ts';
import { type CocoResult, cocoKeypointEval, cocoStatNames } from '../../runtime/eval/coco-eval.ts';
import { mpiiPckh, mpiiPckhNames } from '../../runtime/eval/mpii-pckh.ts';
import { oksNms, type PersonKeypoints, softOksNms } from '../../runtime/eval/oks-nms.ts';

const fixture = (name: string) => new URL(`../fixtures/eval/${name}`, import.meta.url).pathname;
/** Computed by scripts/reference/eval_reference.py with pycocotools and the official HRNet code. */
const expected = JSON.parse(
  readFileSync(new URL('../reference/eval-expected.json', import.meta.url), 'utf8'),
) as {
  coco: Record<string, number>;
  mpii: Record<string, number>;
  oks_nms: Record<string, { oks_nms: number[]; soft_oks_nms: number[] }>;
};
const results = JSON.parse(readFileSync(fixture('coco_results.json'), 'utf8')) as CocoResult[];

describe('evaluation equals the reference implementations (1e-6)', () => {
  it('COCO keypoints: the ten numbers of pycocotools COCOeval', () => {
    const stats = cocoKeypointEval(loadCocoGroundTruth(fixture('coco_gt.json')), results);
    for (const name of cocoStatNames) expect(stats[name], name).toBeCloseTo(expected.coco[name]!, 6);
  });

  it.each([['mpii_gt_valid.json'], ['mpii-root/annot/gt_valid.mat'], ['mpii_gt_valid_uncompressed.mat']])(
    'MPII PCKh as the official evaluate, ground truth from %s',
    (gtFile) => {
      const preds = JSON.parse(readFileSync(fixture('mpii_preds.json'), 'utf8')).preds as [
        number,
        number,
      ][][];
      const pckh = mpiiPckh(preds, loadMpiiGroundTruth(fixture(gtFile)));
      for (const name of mpiiPckhNames) expect(pckh[name], name).toBeCloseTo(expected.mpii[name]!, 6);
    },
  );

  it('OKS NMS and soft OKS NMS keep what the official nms.py keeps', () => {
    const byImage = new Map<number, PersonKeypoints[]>();
    for (const r of results) {
      const keypoints = Array.from(
        { length: 17 },
        (_, k) =>
          [r.keypoints[k * 3]!, r.keypoints[k * 3 + 1]!, r.keypoints[k * 3 + 2]!] as [number, number, number],
      );
      const xs = keypoints.map((p) => p[0]);
      const ys = keypoints.map((p) => p[1]);
      const area = (Math.max(...xs) - Math.min(...xs)) * (Math.max(...ys) - Math.min(...ys));
      if (!byImage.has(r.image_id)) byImage.set(r.image_id, []);
      byImage.get(r.image_id)!.push({ keypoints, area, score: r.score });
    }
    for (const [image, people] of byImage) {
      expect(oksNms(people, 0.5), `image ${image}`).toEqual(expected.oks_nms[String(image)]!.oks_nms);
      expect(softOksNms(people, 0.5), `image ${image}`).toEqual(
        expected.oks_nms[String(image)]!.soft_oks_nms,
      );
    }
  });
});

describe('evaluation edge cases', () => {
  const gt = loadCocoGroundTruth(fixture('coco_gt.json'));

  it('perfect results score 1, and results for unknown images or empty lists are clear errors', () => {
    const perfect = gt.annotations
      .filter((a) => !a.iscrowd && a.num_keypoints > 0)
      .map((a) => ({
        image_id: a.image_id,
        category_id: 1,
        keypoints: a.keypoints.map((v, k) => (k % 3 === 2 ? 1 : v)),
        score: 1,
      }));
    const stats = cocoKeypointEval(gt, perfect);
    expect(stats.AP).toBeCloseTo(1, 9);
    expect(stats.AR).toBeCloseTo(1, 9);
    expect(() => cocoKeypointEval(gt, [{ ...perfect[0]!, image_id: 999 }])).toThrow(/image_id 999/);
    expect(() => cocoKeypointEval(gt, [{ ...perfect[0]!, keypoints: [1, 2, 3] }])).toThrow(/51 expected/);
  });

  it('detections on a crowd region are ignored, not false positives', () => {
    const crowd = gt.annotations.find((a) => a.iscrowd)!;
    expect(crowd).toBeDefined();
    const onCrowd = {
      image_id: crowd.image_id,
      category_id: 1,
      keypoints: Array.from({ length: 51 }, (_, k) =>
        k % 3 === 0 ? crowd.bbox[0] + crowd.bbox[2] / 2 : k % 3 === 1 ? crowd.bbox[1] + crowd.bbox[3] / 2 : 1,
      ),
      score: 0.99,
    };
    const others = gt.annotations
      .filter((a) => !a.iscrowd && a.num_keypoints > 0)
      .map((a) => ({
        image_id: a.image_id,
        category_id: 1,
        keypoints: a.keypoints.map((v, k) => (k % 3 === 2 ? 1 : v)),
        score: 0.5,
      }));
    expect(cocoKeypointEval(gt, [onCrowd, ...others]).AP).toBeCloseTo(1, 9);
  });

  it('MPII: a joint with no visible instance gives NaN as the official code does; wrong counts are errors', () => {
    const gtOne = {
      joints: [Array.from({ length: 16 }, () => [10, 10] as [number, number])],
      jointsMissing: [Array.from({ length: 16 }, (_, j) => (j === 9 ? 1 : 0))],
      headboxes: [
        [
          [0, 0],
          [10, 10],
        ] as [[number, number], [number, number]],
      ],
    };
    const result = mpiiPckh([Array.from({ length: 16 }, () => [11, 10] as [number, number])], gtOne);
    expect(result.Head).toBeNaN();
    expect(result.Shoulder).toBe(100);
    expect(() => mpiiPckh([], gtOne)).toThrow(/0 annotations/);
  });
});
