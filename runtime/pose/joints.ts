/** Joint names, skeletons and flip pairs of the two datasets, in the official joint order. */
export interface JointSet {
  readonly dataset: 'mpii' | 'coco';
  readonly names: readonly string[];
  /** Pairs exchanged by a horizontal flip (the official flip_pairs). */
  readonly flipPairs: readonly (readonly [number, number])[];
  /** Limbs to draw. */
  readonly skeleton: readonly (readonly [number, number])[];
  /** Upper-body joints, for half-body augmentation. */
  readonly upperBody: readonly number[];
  /** Per-joint loss weights for USE_DIFFERENT_JOINTS_WEIGHT (the official COCO values; MPII has none). */
  readonly jointsWeight?: readonly number[];
}

export const mpiiJoints: JointSet = {
  dataset: 'mpii',
  names: [
    'r_ankle',
    'r_knee',
    'r_hip',
    'l_hip',
    'l_knee',
    'l_ankle',
    'pelvis',
    'thorax',
    'upper_neck',
    'head_top',
    'r_wrist',
    'r_elbow',
    'r_shoulder',
    'l_shoulder',
    'l_elbow',
    'l_wrist',
  ],
  flipPairs: [
    [0, 5],
    [1, 4],
    [2, 3],
    [10, 15],
    [11, 14],
    [12, 13],
  ],
  skeleton: [
    [0, 1],
    [1, 2],
    [2, 6],
    [6, 3],
    [3, 4],
    [4, 5],
    [6, 7],
    [7, 8],
    [8, 9],
    [10, 11],
    [11, 12],
    [12, 7],
    [7, 13],
    [13, 14],
    [14, 15],
  ],
  upperBody: [7, 8, 9, 10, 11, 12, 13, 14, 15],
};

export const cocoJoints: JointSet = {
  dataset: 'coco',
  names: [
    'nose',
    'left_eye',
    'right_eye',
    'left_ear',
    'right_ear',
    'left_shoulder',
    'right_shoulder',
    'left_elbow',
    'right_elbow',
    'left_wrist',
    'right_wrist',
    'left_hip',
    'right_hip',
    'left_knee',
    'right_knee',
    'left_ankle',
    'right_ankle',
  ],
  flipPairs: [
    [1, 2],
    [3, 4],
    [5, 6],
    [7, 8],
    [9, 10],
    [11, 12],
    [13, 14],
    [15, 16],
  ],
  skeleton: [
    [15, 13],
    [13, 11],
    [16, 14],
    [14, 12],
    [11, 12],
    [5, 11],
    [6, 12],
    [5, 6],
    [5, 7],
    [6, 8],
    [7, 9],
    [8, 10],
    [1, 2],
    [0, 1],
    [0, 2],
    [1, 3],
    [2, 4],
    [3, 5],
    [4, 6],
  ],
  upperBody: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  jointsWeight: [1, 1, 1, 1, 1, 1, 1, 1.2, 1.2, 1.5, 1.5, 1, 1, 1.2, 1.2, 1.5, 1.5],
};

export function jointSet(dataset: string): JointSet {
  if (dataset === 'mpii') return mpiiJoints;
  if (dataset === 'coco') return cocoJoints;
  throw new Error(`unknown dataset ${dataset}`);
}
