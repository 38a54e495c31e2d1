import { UserError } from '../../common/user-error.ts';
import { JsonChecker, jsonIndex, jsonKey, readJson } from '../data/read-json.ts';
import type { CocoGroundTruth, CocoResult } from './coco-eval.ts';
import type { MpiiGroundTruth } from './mpii-pckh.ts';

/**
 * Checks a COCO keypoint results file against its ground truth (`gtPath`, for messages): a
 * non-empty list of {image_id (one of the ground truth's images), category_id, keypoints (17 × 3
 * numbers), score}. The first problem is a UserError naming the file and the entry.
 */
export function checkCocoResults(
  value: unknown,
  path: string,
  gt: CocoGroundTruth,
  gtPath: string,
): CocoResult[] {
  const c = new JsonChecker(path);
  const list = c.list(value, '', 'a list of results ({image_id, category_id, keypoints, score})');
  if (list.length === 0) c.fail('', 'holds no results; there is nothing to evaluate');
  const imageIds = new Set(gt.images.map((i) => i.id));
  list.forEach((entry, i) => {
    const at = jsonIndex('', i);
    const r = c.object(entry, at, 'a result {image_id, category_id, keypoints, score}');
    const imageId = c.number(c.field(r, 'image_id', at), jsonKey(at, 'image_id'));
    if (!imageIds.has(imageId)) c.fail(jsonKey(at, 'image_id'), `${imageId} is not an image of ${gtPath}`);
    c.number(c.field(r, 'category_id', at), jsonKey(at, 'category_id'));
    c.numbers(c.field(r, 'keypoints', at), jsonKey(at, 'keypoints'), 51, ' (17 keypoints × [x, y, score])');
    c.number(c.field(r, 'score', at), jsonKey(at, 'score'));
  });
  return list as CocoResult[];
}

export function loadCocoResults(path: string, gt: CocoGroundTruth, gtPath: string): CocoResult[] {
  return checkCocoResults(readJson(path, 'COCO results'), path, gt, gtPath);
}

/**
 * Checks MPII predictions, {"preds": [[[x, y] × 16] per annotation]} (0-based; [x, y, score] also
 * accepted, as the official evaluate reads only x and y), with one entry per annotation of the
 * ground truth (`gtPath`, for messages).
 */
export function checkMpiiPredictions(
  value: unknown,
  path: string,
  gt: MpiiGroundTruth,
  gtPath: string,
): [number, number][][] {
  const c = new JsonChecker(path);
  const file = c.object(value, '', 'an object {"preds": [[[x, y] × 16] per annotation]}');
  const preds = c.list(c.field(file, 'preds', ''), 'preds', 'a list of [[x, y] × 16] per annotation');
  preds.forEach((p, a) => {
    c.points(p, jsonIndex('preds', a), 16, 'joints [x, y] (MPII has 16)', [2, 3]);
  });
  if (preds.length !== gt.joints.length)
    throw new UserError(
      `${path}: holds ${preds.length} prediction${preds.length === 1 ? '' : 's'} but ${gtPath} holds ${gt.joints.length} annotations; there must be one per annotation, in the same order`,
    );
  return preds as [number, number][][];
}

export function loadMpiiPredictions(path: string, gt: MpiiGroundTruth, gtPath: string): [number, number][][] {
  return checkMpiiPredictions(readJson(path, 'MPII predictions'), path, gt, gtPath);
}
