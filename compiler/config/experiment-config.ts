import type { CfgNode, PyValue } from './python-value.ts';

/** The resolved, validated config: the official key tree with plain values, deeply frozen. */
export interface ExperimentConfig {
  readonly OUTPUT_DIR: string;
  readonly LOG_DIR: string;
  readonly DATA_DIR: string;
  readonly GPUS: readonly number[];
  readonly WORKERS: number;
  readonly PRINT_FREQ: number;
  readonly AUTO_RESUME: boolean;
  readonly PIN_MEMORY: boolean;
  readonly RANK: number;
  readonly CUDNN: { readonly BENCHMARK: boolean; readonly DETERMINISTIC: boolean; readonly ENABLED: boolean };
  readonly MODEL: ModelConfig;
  readonly LOSS: {
    readonly USE_OHKM: boolean;
    readonly TOPK: number;
    readonly USE_TARGET_WEIGHT: boolean;
    readonly USE_DIFFERENT_JOINTS_WEIGHT: boolean;
  };
  readonly DATASET: {
    readonly ROOT: string;
    readonly DATASET: 'mpii' | 'coco';
    readonly TRAIN_SET: string;
    readonly TEST_SET: string;
    readonly DATA_FORMAT: 'jpg' | 'png' | 'zip';
    readonly HYBRID_JOINTS_TYPE: string;
    readonly SELECT_DATA: boolean;
    readonly FLIP: boolean;
    readonly SCALE_FACTOR: number;
    readonly ROT_FACTOR: number;
    readonly PROB_HALF_BODY: number;
    readonly NUM_JOINTS_HALF_BODY: number;
    readonly COLOR_RGB: boolean;
  };
  readonly TRAIN: {
    readonly LR_FACTOR: number;
    readonly LR_STEP: readonly number[];
    readonly LR: number;
    readonly OPTIMIZER: 'adam' | 'sgd';
    readonly MOMENTUM: number;
    readonly WD: number;
    readonly NESTEROV: boolean;
    readonly GAMMA1: number;
    readonly GAMMA2: number;
    readonly BEGIN_EPOCH: number;
    readonly END_EPOCH: number;
    readonly RESUME: boolean;
    readonly CHECKPOINT: string;
    readonly BATCH_SIZE_PER_GPU: number;
    readonly SHUFFLE: boolean;
  };
  readonly TEST: {
    readonly BATCH_SIZE_PER_GPU: number;
    readonly FLIP_TEST: boolean;
    readonly POST_PROCESS: boolean;
    readonly SHIFT_HEATMAP: boolean;
    readonly USE_GT_BBOX: boolean;
    readonly IMAGE_THRE: number;
    readonly NMS_THRE: number;
    readonly SOFT_NMS: boolean;
    readonly OKS_THRE: number;
    readonly IN_VIS_THRE: number;
    readonly COCO_BBOX_FILE: string;
    readonly BBOX_THRE: number;
    readonly MODEL_FILE: string;
  };
  readonly DEBUG: {
    readonly DEBUG: boolean;
    readonly SAVE_BATCH_IMAGES_GT: boolean;
    readonly SAVE_BATCH_IMAGES_PRED: boolean;
    readonly SAVE_HEATMAPS_GT: boolean;
    readonly SAVE_HEATMAPS_PRED: boolean;
  };
}

interface ModelCommon {
  readonly INIT_WEIGHTS: boolean;
  readonly PRETRAINED: string;
  readonly NUM_JOINTS: number;
  readonly TAG_PER_JOINT: boolean;
  readonly TARGET_TYPE: 'gaussian';
  /** [width, height]. */
  readonly IMAGE_SIZE: readonly [number, number];
  /** [width, height]. */
  readonly HEATMAP_SIZE: readonly [number, number];
  readonly SIGMA: number;
}

export type ModelConfig =
  | (ModelCommon & { readonly NAME: 'pose_hrnet'; readonly EXTRA: PoseHrnetExtra })
  | (ModelCommon & { readonly NAME: 'pose_resnet'; readonly EXTRA: PoseResnetExtra });

export interface HrnetStageConfig {
  readonly NUM_MODULES: number;
  readonly NUM_BRANCHES: number;
  readonly BLOCK: 'BASIC' | 'BOTTLENECK';
  readonly NUM_BLOCKS: readonly number[];
  readonly NUM_CHANNELS: readonly number[];
  readonly FUSE_METHOD: 'SUM';
}

export interface PoseHrnetExtra {
  readonly PRETRAINED_LAYERS: readonly string[];
  readonly STEM_INPLANES: number;
  readonly FINAL_CONV_KERNEL: 1 | 3;
  readonly STAGE2: HrnetStageConfig;
  readonly STAGE3: HrnetStageConfig;
  readonly STAGE4: HrnetStageConfig;
}

export interface PoseResnetExtra {
  readonly NUM_LAYERS: 18 | 34 | 50 | 101 | 152;
  readonly DECONV_WITH_BIAS: boolean;
  readonly NUM_DECONV_LAYERS: number;
  readonly NUM_DECONV_FILTERS: readonly number[];
  readonly NUM_DECONV_KERNELS: readonly number[];
  readonly FINAL_CONV_KERNEL: 1 | 3;
  readonly PRETRAINED_LAYERS: readonly string[];
}

/**
 * Plain data from a CfgNode that passed the schema; the schema guarantees the shape the interface
 * describes, so this is a structural copy, not a second validation.
 */
export function toExperimentConfig(root: CfgNode): ExperimentConfig {
  return deepFreeze(toPlain(root)) as ExperimentConfig;
}

export function toPlain(value: PyValue): unknown {
  switch (value.type) {
    case 'int':
      return Number(value.value);
    case 'float':
    case 'str':
    case 'bool':
      return value.value;
    case 'none':
      return null;
    case 'list':
    case 'tuple':
    case 'set':
      return value.items.map(toPlain);
    case 'dict':
      return Object.fromEntries(value.entries.map((e) => [String(toPlain(e.key)), toPlain(e.value)]));
    case 'node':
      return Object.fromEntries([...value.entries].map(([k, e]) => [k, toPlain(e.value)]));
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
