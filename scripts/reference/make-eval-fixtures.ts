/**
 * Writes the fixtures the evaluation references are computed on: a small synthetic COCO val set with
 * noisy results (and false positives), a synthetic MPII val set with noisy predictions, and a PNG for
 * the transform references. Run: npx tsx scripts/reference/make-eval-fixtures.ts
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import { Prng } from '../../common/prng.ts';
import { writeSyntheticDataset } from '../../runtime/data/synthetic/write-dataset.ts';
import { encodePng, readImage } from '../../runtime/image/image.ts';

const fixtures = new URL('../../test/fixtures/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'hrnetc-fixtures-'));
const prng = new Prng(424242);

writeSyntheticDataset({
  format: 'coco',
  train: 0,
  validation: 30,
  seed: 11,
  size: [320, 256],
  out: join(work, 'coco'),
});
const gt = JSON.parse(readFileSync(join(work, 'coco', 'annotations', 'person_keypoints_val.json'), 'utf8'));
// The figures are thin; make every third ground-truth area large so all three area ranges are exercised.
gt.annotations.forEach((a: { area: number }, i: number) => {
  if (i % 3 === 0) a.area *= 5;
});
writeFileAtomic(join(fixtures, 'eval', 'coco_gt.json'), JSON.stringify(gt));
const results: object[] = [];
for (const a of gt.annotations as {
  image_id: number;
  keypoints: number[];
  iscrowd: number;
  bbox: number[];
}[]) {
  const noise = prng.uniform(0.5, 6);
  const keypoints = a.keypoints.map((v, k) =>
    k % 3 === 2
      ? prng.uniform(0.1, 1)
      : v === 0
        ? a.bbox[k % 3]! + prng.uniform(0, 20)
        : v + (prng.next() - 0.5) * 2 * noise,
  );
  results.push({ image_id: a.image_id, category_id: 1, keypoints, score: prng.uniform(0.2, 1) });
  if (prng.next() < 0.3) {
    // A duplicate with more noise and a lower score, and now and then a stray detection.
    results.push({
      image_id: a.image_id,
      category_id: 1,
      keypoints: keypoints.map((v, k) => (k % 3 === 2 ? v : v + prng.uniform(-15, 15))),
      score: prng.uniform(0, 0.5),
    });
  }
}
for (let i = 0; i < 6; i++) {
  const image = gt.images[Math.floor(prng.next() * gt.images.length)];
  results.push({
    image_id: image.id,
    category_id: 1,
    keypoints: Array.from({ length: 51 }, (_, k) => (k % 3 === 2 ? prng.next() : prng.uniform(0, 120))),
    score: prng.next(),
  });
}
writeFileAtomic(join(fixtures, 'eval', 'coco_results.json'), JSON.stringify(results));

writeSyntheticDataset({
  format: 'mpii',
  train: 0,
  validation: 40,
  seed: 12,
  size: [128, 128],
  out: join(work, 'mpii'),
});
const mpiiGt = JSON.parse(readFileSync(join(work, 'mpii', 'annot', 'gt_valid.json'), 'utf8'));
writeFileAtomic(join(fixtures, 'eval', 'mpii_gt_valid.json'), JSON.stringify(mpiiGt));
const preds = (mpiiGt.joints as number[][][]).map((joints) =>
  joints.map(([x, y]) => [x! + (prng.next() - 0.5) * 12, y! + (prng.next() - 0.5) * 12]),
);
writeFileAtomic(join(fixtures, 'eval', 'mpii_preds.json'), JSON.stringify({ preds }));

writeSyntheticDataset({
  format: 'mpii',
  train: 1,
  validation: 0,
  seed: 13,
  size: [120, 100],
  out: join(work, 'image'),
});
writeFileAtomic(
  join(fixtures, 'images', 'person.png'),
  encodePng(readImage(join(work, 'image', 'images', 'train_000001.jpg'))),
);
copyFileSync(join(work, 'image', 'annot', 'train.json'), join(fixtures, 'images', 'person.annot.json'));
rmSync(work, { recursive: true });
console.log('fixtures written to test/fixtures/eval and test/fixtures/images');
