import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../common/user-error.ts';
import type { CocoGroundTruth } from '../eval/coco-eval.ts';
import { boxToCenterScale, type Point } from '../pose/affine.ts';
import { readJson } from './read-json.ts';
import type { Sample } from './sample.ts';

export function cocoAnnotationFile(root: string, imageSet: string): string {
  const prefix = imageSet.includes('test') ? 'image_info' : 'person_keypoints';
  return join(root, 'annotations', `${prefix}_${imageSet}.json`);
}

export function loadCocoGroundTruth(path: string): CocoGroundTruth {
  const gt = readJson(path, 'COCO annotations') as Partial<CocoGroundTruth>;
  if (!Array.isArray(gt.images) || !Array.isArray(gt.annotations))
    throw new UserError(`${path} must hold images and annotations lists`);
  return {
    images: gt.images,
    annotations: gt.annotations,
    categories: gt.categories ?? [{ id: 1, name: 'person' }],
  };
}

/** The image's path: images/<set>/<file_name>, or the official %012d.jpg name when none is given. */
function imagePath(root: string, imageSet: string, image: { id: number; file_name?: string }): string {
  const prefix = imageSet.includes('test') ? 'test2017' : imageSet;
  let file = image.file_name ?? `${String(image.id).padStart(12, '0')}.jpg`;
  if (!image.file_name && imageSet.includes('2014')) file = `COCO_${imageSet}_${file}`;
  return join(root, 'images', prefix, file);
}

/**
 * The official COCODataset._load_coco_keypoint_annotations: person boxes clipped to the image
 * (`clean_bbox`), crowd, empty-area and keypoint-less objects skipped, visibility 2 clipped to 1,
 * and center/scale from the box with the aspect fix and × 1.25.
 */
export function loadCocoSamples(root: string, imageSet: string, aspectRatio: number): Sample[] {
  const gt = loadCocoGroundTruth(cocoAnnotationFile(root, imageSet));
  const byImage = new Map<number, CocoGroundTruth['annotations'][number][]>();
  for (const a of gt.annotations) {
    if (!byImage.has(a.image_id)) byImage.set(a.image_id, []);
    byImage.get(a.image_id)!.push(a);
  }
  const samples: Sample[] = [];
  for (const image of [...gt.images].sort((a, b) => a.id - b.id)) {
    const width = image.width ?? Number.POSITIVE_INFINITY;
    const height = image.height ?? Number.POSITIVE_INFINITY;
    for (const object of byImage.get(image.id) ?? []) {
      if (object.iscrowd) continue;
      const [x, y, w, h] = object.bbox;
      const x1 = Math.max(0, x);
      const y1 = Math.max(0, y);
      const x2 = Math.min(width - 1, x1 + Math.max(0, w - 1));
      const y2 = Math.min(height - 1, y1 + Math.max(0, h - 1));
      if (!(object.area > 0 && x2 >= x1 && y2 >= y1)) continue;
      if (object.category_id !== 1) continue;
      if (!object.keypoints || Math.max(...object.keypoints) === 0) continue;
      const joints: Point[] = [];
      const visibility: number[] = [];
      for (let k = 0; k < 17; k++) {
        joints.push([object.keypoints[k * 3]!, object.keypoints[k * 3 + 1]!]);
        visibility.push(Math.min(1, object.keypoints[k * 3 + 2]!));
      }
      const { center, scale } = boxToCenterScale(x1, y1, x2 - x1, y2 - y1, aspectRatio);
      samples.push({
        image: imagePath(root, imageSet, image),
        center,
        scale,
        joints,
        visibility,
        score: 1,
        imageId: image.id,
      });
    }
  }
  return samples;
}

/**
 * The official _load_coco_person_detection_results: person detections (category 1) with a score of
 * at least IMAGE_THRE, boxes to center/scale; all joints marked usable.
 */
export function loadCocoDetections(
  path: string,
  root: string,
  imageSet: string,
  aspectRatio: number,
  imageThreshold: number,
): Sample[] {
  if (!path || !existsSync(path))
    throw new UserError(`TEST.COCO_BBOX_FILE '${path}' does not exist; set it, or TEST.USE_GT_BBOX True`);
  const detections = readJson(path, 'COCO detections');
  if (!Array.isArray(detections) || detections.length === 0)
    throw new UserError(`${path} holds no detections`);
  const gt = loadCocoGroundTruth(cocoAnnotationFile(root, imageSet));
  const images = new Map(gt.images.map((i) => [i.id, i]));
  const samples: Sample[] = [];
  for (const d of detections as {
    image_id: number;
    category_id: number;
    bbox: [number, number, number, number];
    score: number;
  }[]) {
    if (d.category_id !== 1 || d.score < imageThreshold) continue;
    const image = images.get(d.image_id) ?? { id: d.image_id };
    const { center, scale } = boxToCenterScale(...d.bbox, aspectRatio);
    samples.push({
      image: imagePath(root, imageSet, image),
      center,
      scale,
      joints: Array.from({ length: 17 }, () => [0, 0] as Point),
      visibility: Array.from({ length: 17 }, () => 1),
      score: d.score,
      imageId: d.image_id,
    });
  }
  return samples;
}
