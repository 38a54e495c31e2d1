import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { writeFileAtomic } from '../../../common/atomic-write.ts';
import { Prng } from '../../../common/prng.ts';
import { cocoJoints } from '../../pose/joints.ts';
import type { Canvas } from './raster.ts';
import {
  drawImage,
  imageSeed,
  inFrame,
  mpiiImageName,
  mpiiRecord,
  ownerAt,
  round,
  type SyntheticOptions,
} from './synthetic-image.ts';

export type { SyntheticFormat, SyntheticOptions } from './synthetic-image.ts';

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
      if (options.format === 'mpii') {
        const name = mpiiImageName(split, i);
        writeFileAtomic(join(options.out, 'images', name), encode(canvas));
        const record = mpiiRecord(canvas, people[0]!, name);
        mpii.push(record.annotation);
        gt.joints.push(record.joints);
        gt.joints_missing.push(record.missing);
        gt.headboxes.push(record.headbox);
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
