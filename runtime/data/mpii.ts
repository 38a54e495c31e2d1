import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { UserError } from '../../common/user-error.ts';
import type { MpiiGroundTruth } from '../eval/mpii-pckh.ts';
import { type MatValue, readMatFile } from '../io/mat-file.ts';
import type { Point } from '../pose/affine.ts';
import { readJson } from './read-json.ts';
import type { Sample } from './sample.ts';

/** One entry of the official MPII annot/<set>.json (1-based Matlab coordinates). */
export interface MpiiAnnotation {
  readonly image: string;
  readonly center: readonly [number, number];
  readonly scale: number;
  readonly joints?: readonly (readonly [number, number])[];
  readonly joints_vis?: readonly number[];
}

/**
 * The official MPIIDataset._get_db: annot/<imageSet>.json with the official adjustments (center y
 * moved down by 15·scale and scale × 1.25 to avoid cropping limbs, then 1-based → 0-based).
 */
export function loadMpiiSamples(root: string, imageSet: string): Sample[] {
  const path = join(root, 'annot', `${imageSet}.json`);
  const annotations = readJson(path, 'MPII annotations');
  if (!Array.isArray(annotations)) throw new UserError(`${path} must hold a list of annotations`);
  return annotations.map((entry, i) => {
    const a = entry as MpiiAnnotation;
    if (typeof a.image !== 'string' || !Array.isArray(a.center) || typeof a.scale !== 'number') {
      throw new UserError(`${path}: annotation ${i} lacks image, center or scale`);
    }
    let center: Point = [a.center[0], a.center[1]];
    let scale: Point = [a.scale, a.scale];
    if (center[0] !== -1) {
      center = [center[0], center[1] + 15 * scale[1]];
      scale = [scale[0] * 1.25, scale[1] * 1.25];
    }
    center = [center[0] - 1, center[1] - 1];
    const joints: Point[] = [];
    const visibility: number[] = [];
    for (let j = 0; j < 16; j++) {
      const joint = a.joints?.[j];
      joints.push(joint && imageSet !== 'test' ? [joint[0] - 1, joint[1] - 1] : [0, 0]);
      visibility.push(imageSet !== 'test' ? (a.joints_vis?.[j] ?? 0) : 0);
    }
    if (imageSet !== 'test' && a.joints && a.joints.length !== 16) {
      throw new UserError(`${path}: annotation ${i} has ${a.joints.length} joints; MPII has 16`);
    }
    return { image: join(root, 'images', a.image), center, scale, joints, visibility, score: 1 };
  });
}

/** The MPII ground truth for PCKh from JSON (0-based) or from the official .mat (1-based). */
export function loadMpiiGroundTruth(path: string): MpiiGroundTruth {
  if (extname(path).toLowerCase() === '.mat') {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      throw new UserError(`cannot read MPII ground truth ${path}: no such file`);
    }
    return groundTruthFromMat(readMatFile(bytes, path), path);
  }
  const gt = readJson(path, 'MPII ground truth') as Partial<{
    joints: unknown;
    joints_missing: unknown;
    headboxes: unknown;
  }>;
  if (!Array.isArray(gt.joints) || !Array.isArray(gt.joints_missing) || !Array.isArray(gt.headboxes)) {
    throw new UserError(`${path} must hold joints, joints_missing and headboxes lists`);
  }
  if (gt.joints.length !== gt.joints_missing.length || gt.joints.length !== gt.headboxes.length) {
    throw new UserError(`${path}: joints, joints_missing and headboxes have different lengths`);
  }
  return { joints: gt.joints, jointsMissing: gt.joints_missing, headboxes: gt.headboxes } as MpiiGroundTruth;
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

function groundTruthFromMat(variables: Map<string, MatValue>, path: string): MpiiGroundTruth {
  const numeric = (name: string) => {
    const v = variables.get(name);
    if (v?.kind !== 'numeric') throw new UserError(`${path} has no numeric variable ${name}`);
    return v;
  };
  const names = variables.get('dataset_joints');
  if (names?.kind === 'cell') {
    const text = names.items.map((item) =>
      item.kind === 'char'
        ? item.text
        : item.kind === 'cell' && item.items[0]?.kind === 'char'
          ? item.items[0].text
          : '',
    );
    if (text.join(',') !== matJointNames.join(','))
      throw new UserError(`${path}: dataset_joints are not in the MPII order (${text.join(', ')})`);
  }
  const missing = numeric('jnt_missing'); // 16 × N, column-major
  const positions = numeric('pos_gt_src'); // 16 × 2 × N
  const boxes = numeric('headboxes_src'); // 2 × 2 × N
  const n = missing.dims[1]!;
  const jointsMissing = Array.from({ length: n }, (_, a) =>
    Array.from({ length: 16 }, (_, j) => missing.data[a * 16 + j]!),
  );
  const joints = Array.from({ length: n }, (_, a) =>
    Array.from(
      { length: 16 },
      (_, j) => [positions.data[a * 32 + j]! - 1, positions.data[a * 32 + 16 + j]! - 1] as [number, number],
    ),
  );
  const headboxes = Array.from({ length: n }, (_, a) => {
    // headboxes_src[corner, axis, a]: corner 0 is the top-left, axis 0 is x.
    const at = (corner: number, axis: number) => boxes.data[a * 4 + axis * 2 + corner]! - 1;
    return [
      [at(0, 0), at(0, 1)],
      [at(1, 0), at(1, 1)],
    ] as [[number, number], [number, number]];
  });
  return { joints, jointsMissing, headboxes };
}
