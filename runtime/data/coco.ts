import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../common/user-error.ts';
import type { CocoGroundTruth } from '../eval/coco-eval.ts';
import { boxToCenterScale, type Point } from '../pose/affine.ts';
import { JsonChecker, jsonIndex, jsonKey, readJson } from './read-json.ts';
import type { Sample } from './sample.ts';

export function cocoAnnotationFile(root: string, imageSet: string): string {
  const prefix = imageSet.includes('test') ? 'image_info' : 'person_keypoints';
  return join(root, 'annotations', `${prefix}_${imageSet}.json`);
}

const optionalPositive = (c: JsonChecker, object: Record<string, unknown>, key: string, at: string) => {
  if (object[key] === undefined) return;
  if (c.number(object[key], jsonKey(at, key)) <= 0)
    c.fail(jsonKey(at, key), `expected a positive number, found ${object[key]}`);
};

/**
 * Checks a COCO keypoints file as the official loader and COCOeval read it: {images, annotations,
 * categories}; images with unique numeric ids (width, height and file_name optional), categories
 * with ids, annotations with id, image_id (one of the images), category_id, bbox [x, y, w, h], area,
 * keypoints (17 × 3 numbers) and num_keypoints (iscrowd optional). With `annotations: 'optional'`
 * (an image_info file, read for its images), annotations may be absent. The first problem is a
 * UserError naming the file and the entry: `annotations[3].keypoints: expected 51 numbers …`.
 */
export function checkCocoGroundTruth(
  value: unknown,
  path: string,
  options: { annotations: 'required' | 'optional' } = { annotations: 'required' },
): CocoGroundTruth {
  const c = new JsonChecker(path);
  const gt = c.object(value, '', 'a COCO object {images, annotations, categories}');
  const images = c.list(c.field(gt, 'images', ''), 'images');
  const imageIds = new Map<number, number>();
  images.forEach((entry, i) => {
    const at = jsonIndex('images', i);
    const image = c.object(entry, at, 'an image {id, width, height, file_name}');
    const id = c.number(c.field(image, 'id', at), jsonKey(at, 'id'));
    const first = imageIds.get(id);
    if (first !== undefined) c.fail(jsonKey(at, 'id'), `image id ${id} repeats images[${first}]`);
    imageIds.set(id, i);
    optionalPositive(c, image, 'width', at);
    optionalPositive(c, image, 'height', at);
    if (image.file_name !== undefined) c.string(image.file_name, jsonKey(at, 'file_name'));
  });
  const categories = c.list(c.field(gt, 'categories', ''), 'categories');
  categories.forEach((entry, i) => {
    const at = jsonIndex('categories', i);
    c.number(c.field(c.object(entry, at, 'a category {id, name}'), 'id', at), jsonKey(at, 'id'));
  });
  const annotations =
    options.annotations === 'optional' && gt.annotations === undefined
      ? []
      : c.list(c.field(gt, 'annotations', ''), 'annotations');
  annotations.forEach((entry, i) => {
    const at = jsonIndex('annotations', i);
    const a = c.object(entry, at, 'an annotation {id, image_id, category_id, bbox, area, keypoints, …}');
    const number = (key: string) => c.number(c.field(a, key, at), jsonKey(at, key));
    number('id');
    const imageId = number('image_id');
    if (!imageIds.has(imageId))
      c.fail(jsonKey(at, 'image_id'), `${imageId} is not the id of any of the ${images.length} images`);
    number('category_id');
    c.numbers(c.field(a, 'bbox', at), jsonKey(at, 'bbox'), 4, ' ([x, y, width, height])');
    number('area');
    c.numbers(c.field(a, 'keypoints', at), jsonKey(at, 'keypoints'), 51, ' (17 keypoints × [x, y, v])');
    number('num_keypoints');
    if (a.iscrowd !== undefined && typeof a.iscrowd !== 'boolean')
      c.number(a.iscrowd, jsonKey(at, 'iscrowd'));
  });
  return { images, annotations, categories } as CocoGroundTruth;
}

export function loadCocoGroundTruth(path: string): CocoGroundTruth {
  return checkCocoGroundTruth(readJson(path, 'COCO annotations'), path);
}

/**
 * Checks a COCO person detection file (TEST.COCO_BBOX_FILE): a non-empty list of {image_id (one
 * of the images of `gtPath`), category_id, bbox [x, y, w, h] with w, h > 0, score}.
 */
export function checkCocoDetections(
  value: unknown,
  path: string,
  gt: CocoGroundTruth,
  gtPath: string,
): CocoDetection[] {
  const c = new JsonChecker(path);
  const list = c.list(value, '', 'a list of detections ({image_id, category_id, bbox, score})');
  if (list.length === 0) c.fail('', 'holds no detections');
  const imageIds = new Set(gt.images.map((i) => i.id));
  list.forEach((entry, i) => {
    const at = jsonIndex('', i);
    const d = c.object(entry, at, 'a detection {image_id, category_id, bbox, score}');
    const imageId = c.number(c.field(d, 'image_id', at), jsonKey(at, 'image_id'));
    if (!imageIds.has(imageId)) c.fail(jsonKey(at, 'image_id'), `${imageId} is not an image of ${gtPath}`);
    c.number(c.field(d, 'category_id', at), jsonKey(at, 'category_id'));
    const [, , w, h] = c.numbers(c.field(d, 'bbox', at), jsonKey(at, 'bbox'), 4, ' ([x, y, width, height])');
    if (!(w! > 0 && h! > 0))
      c.fail(jsonKey(at, 'bbox'), `width and height must be positive, found ${w} × ${h}`);
    c.number(c.field(d, 'score', at), jsonKey(at, 'score'));
  });
  return list as CocoDetection[];
}

interface CocoDetection {
  readonly image_id: number;
  readonly category_id: number;
  readonly bbox: readonly [number, number, number, number];
  readonly score: number;
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
  const gtPath = cocoAnnotationFile(root, imageSet);
  const gt = checkCocoGroundTruth(readJson(gtPath, 'COCO image info'), gtPath, { annotations: 'optional' });
  const detections = checkCocoDetections(readJson(path, 'COCO detections'), path, gt, gtPath);
  const images = new Map(gt.images.map((i) => [i.id, i]));
  const samples: Sample[] = [];
  for (const d of detections) {
    if (d.category_id !== 1 || d.score < imageThreshold) continue;
    const image = images.get(d.image_id)!;
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
  if (samples.length === 0)
    throw new UserError(
      `${path}: none of the ${detections.length} detections is a person (category_id 1) with a score of at least TEST.IMAGE_THRE ${imageThreshold}`,
    );
  return samples;
}
