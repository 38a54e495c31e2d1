import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { UserError } from '../../common/user-error.ts';
import type { MpiiGroundTruth } from '../eval/mpii-pckh.ts';
import { type MatValue, readMatFile } from '../io/mat-file.ts';
import { type MpiiAnnotation, mpiiSample } from './mpii-sample.ts';
import { JsonChecker, jsonIndex, jsonKey, readJson } from './read-json.ts';
import type { Sample } from './sample.ts';

export type { MpiiAnnotation } from './mpii-sample.ts';

/**
 * Checks an MPII annot/<set>.json as the official MPIIDataset._get_db reads it: a non-empty list of
 * {image, center [x, y], scale}, plus 16 joints [x, y] and 16 joints_vis except for the test set.
 * The first problem is a UserError naming the file and the entry (`[3].joints: expected 16 joints, found 15`).
 */
export function checkMpiiAnnotations(value: unknown, path: string, withJoints: boolean): MpiiAnnotation[] {
  const c = new JsonChecker(path);
  const list = c.list(value, '', 'a list of MPII annotations ({image, center, scale, joints, joints_vis})');
  if (list.length === 0) c.fail('', 'holds no annotations');
  list.forEach((entry, i) => {
    const at = jsonIndex('', i);
    const a = c.object(entry, at, 'an annotation {image, center, scale, joints, joints_vis}');
    const image = c.string(c.field(a, 'image', at), jsonKey(at, 'image'));
    if (image === '') c.fail(jsonKey(at, 'image'), 'empty image name');
    c.numbers(c.field(a, 'center', at), jsonKey(at, 'center'), 2, ' ([x, y])');
    c.number(c.field(a, 'scale', at), jsonKey(at, 'scale'));
    if (withJoints) {
      c.points(c.field(a, 'joints', at), jsonKey(at, 'joints'), 16, 'joints [x, y] (MPII has 16)');
      c.numbers(c.field(a, 'joints_vis', at), jsonKey(at, 'joints_vis'), 16, ' (one per joint)');
    }
  });
  return list as MpiiAnnotation[];
}

/**
 * The official MPIIDataset._get_db: annot/<imageSet>.json with the official adjustments (center y
 * moved down by 15·scale and scale × 1.25 to avoid cropping limbs, then 1-based → 0-based).
 */
export function loadMpiiSamples(root: string, imageSet: string): Sample[] {
  const path = join(root, 'annot', `${imageSet}.json`);
  const withJoints = imageSet !== 'test';
  const annotations = checkMpiiAnnotations(readJson(path, 'MPII annotations'), path, withJoints);
  return annotations.map((a) => mpiiSample(a, join(root, 'images', a.image), withJoints));
}

/**
 * Checks MPII ground truth JSON, {"joints", "joints_missing", "headboxes"} (0-based): as many
 * entries in each, at least one, 16 joints [x, y], 16 flags 0 or 1, and [[x1, y1], [x2, y2]] boxes.
 */
export function checkMpiiGroundTruth(value: unknown, path: string): MpiiGroundTruth {
  const c = new JsonChecker(path);
  const gt = c.object(value, '', 'an object {"joints", "joints_missing", "headboxes"}');
  const joints = c.list(c.field(gt, 'joints', ''), 'joints');
  const missing = c.list(c.field(gt, 'joints_missing', ''), 'joints_missing');
  const headboxes = c.list(c.field(gt, 'headboxes', ''), 'headboxes');
  if (joints.length === 0) c.fail('joints', 'holds no annotations');
  if (missing.length !== joints.length || headboxes.length !== joints.length)
    c.fail(
      '',
      `joints, joints_missing and headboxes must have one entry per annotation; they have ${joints.length}, ${missing.length} and ${headboxes.length}`,
    );
  for (let a = 0; a < joints.length; a++) {
    c.points(joints[a], jsonIndex('joints', a), 16, 'joints [x, y] (MPII has 16)');
    const flags = c.numbers(missing[a], jsonIndex('joints_missing', a), 16, ' (one per joint)');
    const bad = flags.findIndex((f) => f !== 0 && f !== 1);
    if (bad >= 0)
      c.fail(jsonIndex(jsonIndex('joints_missing', a), bad), `expected 0 or 1, found ${flags[bad]}`);
    c.points(headboxes[a], jsonIndex('headboxes', a), 2, 'corners [x, y] ([[x1, y1], [x2, y2]])');
  }
  return { joints, jointsMissing: missing, headboxes } as MpiiGroundTruth;
}

/** The MPII ground truth for PCKh from JSON (0-based) or from the official .mat (1-based). */
export function loadMpiiGroundTruth(path: string): MpiiGroundTruth {
  if (extname(path).toLowerCase() === '.mat') {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UserError(
        `${path}: cannot read MPII ground truth: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message}`,
      );
    }
    return groundTruthFromMat(readMatFile(bytes, path), path);
  }
  return checkMpiiGroundTruth(readJson(path, 'MPII ground truth'), path);
}

const matJointNames = [
  'rank',
  'rkne',
  'rhip',
  'lhip',
  'lkne',
  'lank',
  'pelv',
  'thor',
  'neck',
  'head',
  'rwri',
  'relb',
  'rsho',
  'lsho',
  'lelb',
  'lwri',
];

const matLayout =
  "the layout of MPII's gt_valid.mat: dataset_joints, jnt_missing 16×N, pos_gt_src 16×2×N, headboxes_src 2×2×N";

function describeMat(value: MatValue): string {
  const dims = value.dims.join('×');
  return value.kind === 'other' ? `a ${value.className} ${dims}` : `a ${value.kind} array ${dims}`;
}

/**
 * The variables the official evaluate reads from gt_valid.mat, checked: dataset_joints (the 16
 * names in MPII order), jnt_missing 16×N (0 or 1), pos_gt_src 16×2×N and headboxes_src 2×2×N
 * (1-based; finite where the joint is not missing), with one N.
 */
function groundTruthFromMat(variables: Map<string, MatValue>, path: string): MpiiGroundTruth {
  const required = ['dataset_joints', 'jnt_missing', 'pos_gt_src', 'headboxes_src'];
  const absent = required.filter((name) => !variables.has(name));
  if (absent.length > 0) {
    const held = [...variables.keys()];
    throw new UserError(
      `${path}: missing variable${absent.length > 1 ? 's' : ''} ${absent.join(', ')}; expected ${matLayout} (it holds ${held.length > 0 ? held.join(', ') : 'no variables'})`,
    );
  }
  const names = variables.get('dataset_joints')!;
  if (names.kind !== 'cell')
    throw new UserError(
      `${path}: dataset_joints is ${describeMat(names)}; expected a cell array of 16 joint names`,
    );
  const text = names.items.map((item) =>
    item.kind === 'char'
      ? item.text
      : item.kind === 'cell' && item.items[0]?.kind === 'char'
        ? item.items[0].text
        : '?',
  );
  if (text.join(',') !== matJointNames.join(','))
    throw new UserError(
      `${path}: dataset_joints are not the 16 MPII joints in order (${matJointNames.join(', ')}); found ${text.join(', ')}`,
    );
  /** A numeric variable with these leading dims and a last dim N (MATLAB drops trailing 1s). */
  const numeric = (name: string, leading: number[], shape: string) => {
    const v = variables.get(name)!;
    const dims = [...v.dims];
    while (dims.length < leading.length + 1) dims.push(1);
    while (dims.length > leading.length + 1 && dims.at(-1) === 1) dims.pop();
    if (v.kind !== 'numeric' || dims.length !== leading.length + 1 || leading.some((d, k) => dims[k] !== d))
      throw new UserError(`${path}: ${name} is ${describeMat(v)}; expected a numeric array ${shape}`);
    if (v.data.length !== dims.reduce((n, d) => n * d, 1))
      throw new UserError(`${path}: ${name} holds ${v.data.length} values for dimensions ${dims.join('×')}`);
    return { data: v.data, n: dims.at(-1)! };
  };
  const missing = numeric('jnt_missing', [16], '16×N'); // column-major
  const positions = numeric('pos_gt_src', [16, 2], '16×2×N');
  const boxes = numeric('headboxes_src', [2, 2], '2×2×N');
  const n = missing.n;
  if (n === 0) throw new UserError(`${path}: holds no annotations (jnt_missing is 16×0)`);
  if (positions.n !== n || boxes.n !== n)
    throw new UserError(
      `${path}: jnt_missing, pos_gt_src and headboxes_src must have one column per annotation; they have ${n}, ${positions.n} and ${boxes.n}`,
    );
  const jointsMissing = Array.from({ length: n }, (_, a) =>
    Array.from({ length: 16 }, (_, j) => {
      const flag = missing.data[a * 16 + j]!;
      if (flag !== 0 && flag !== 1)
        throw new UserError(`${path}: jnt_missing(${j + 1}, ${a + 1}) is ${flag}; expected 0 or 1`);
      return flag;
    }),
  );
  const joints = Array.from({ length: n }, (_, a) =>
    Array.from({ length: 16 }, (_, j) => {
      const x = positions.data[a * 32 + j]!;
      const y = positions.data[a * 32 + 16 + j]!;
      if (jointsMissing[a]![j] === 0 && !(Number.isFinite(x) && Number.isFinite(y)))
        throw new UserError(
          `${path}: pos_gt_src(${j + 1}, :, ${a + 1}) is [${x}, ${y}] for a joint that is not missing`,
        );
      return [x - 1, y - 1] as [number, number];
    }),
  );
  const headboxes = Array.from({ length: n }, (_, a) => {
    // headboxes_src[corner, axis, a]: corner 0 is the top-left, axis 0 is x.
    const at = (corner: number, axis: number) => {
      const v = boxes.data[a * 4 + axis * 2 + corner]!;
      if (!Number.isFinite(v))
        throw new UserError(`${path}: headboxes_src(${corner + 1}, ${axis + 1}, ${a + 1}) is ${v}`);
      return v - 1;
    };
    return [
      [at(0, 0), at(0, 1)],
      [at(1, 0), at(1, 1)],
    ] as [[number, number], [number, number]];
  });
  return { joints, jointsMissing, headboxes };
}
