import { UserError } from '../common/user-error.ts';
import type { AugmentationSettings } from './data/augmentation.ts';
import type { ItemSettings } from './data/joints-dataset.ts';
import { jointSet } from './pose/joints.ts';
import type { PredictSettings } from './predict.ts';
import type { Manifest } from './program.ts';
import type { ValidateSettings } from './validate.ts';

/**
 * The part of the resolved experiment config the runtime reads, from manifest.json (the runtime does
 * not import the compiler's types; these are the official keys).
 */
export interface RuntimeConfig {
  readonly MODEL: {
    readonly IMAGE_SIZE: [number, number];
    readonly HEATMAP_SIZE: [number, number];
    readonly NUM_JOINTS: number;
    readonly SIGMA: number;
    readonly NAME: string;
  };
  readonly DATASET: {
    readonly DATASET: 'mpii' | 'coco';
    readonly COLOR_RGB: boolean;
    readonly [key: string]: unknown;
  };
  readonly TEST: {
    readonly FLIP_TEST: boolean;
    readonly SHIFT_HEATMAP: boolean;
    readonly POST_PROCESS: boolean;
    readonly [key: string]: unknown;
  };
  readonly [key: string]: unknown;
}

export function runtimeConfig(manifest: Manifest): RuntimeConfig {
  const config = manifest.config as RuntimeConfig | undefined;
  if (!config?.MODEL || !config.DATASET || !config.TEST) {
    throw new UserError(
      `${manifest.experiment} was compiled from an .ir graph, which has no experiment config; compile the experiment YAML instead`,
    );
  }
  return config;
}

export function predictSettings(config: RuntimeConfig): PredictSettings {
  return {
    imageSize: config.MODEL.IMAGE_SIZE,
    heatmapSize: config.MODEL.HEATMAP_SIZE,
    colorRgb: config.DATASET.COLOR_RGB,
    flipTest: config.TEST.FLIP_TEST,
    shiftHeatmap: config.TEST.SHIFT_HEATMAP,
    postProcess: config.TEST.POST_PROCESS,
    joints: jointSet(config.DATASET.DATASET),
  };
}

/** Worker threads preparing batches: WORKERS, at most 2 (more would only take cores from the GPU driver). */
export function loaderWorkers(config: RuntimeConfig): number {
  return Math.min(config.WORKERS as number, 2);
}

/** The official validate()'s settings: TEST batch size × GPUs, flip test, heatmap shift, post-processing. */
export function validateSettings(config: RuntimeConfig): ValidateSettings {
  const test = config.TEST as RuntimeConfig['TEST'] & { BATCH_SIZE_PER_GPU: number };
  return {
    item: datasetSettings(config).item,
    batchSize: test.BATCH_SIZE_PER_GPU * (config.GPUS as readonly number[]).length,
    workers: loaderWorkers(config),
    flipTest: test.FLIP_TEST,
    shiftHeatmap: test.SHIFT_HEATMAP,
    postProcess: test.POST_PROCESS,
  };
}

/** Item preparation and augmentation settings from the official keys. */
export function datasetSettings(config: RuntimeConfig): {
  item: ItemSettings;
  augmentation: AugmentationSettings;
} {
  const joints = jointSet(config.DATASET.DATASET);
  const d = config.DATASET as unknown as {
    SCALE_FACTOR: number;
    ROT_FACTOR: number;
    FLIP: boolean;
    NUM_JOINTS_HALF_BODY: number;
    PROB_HALF_BODY: number;
    COLOR_RGB: boolean;
  };
  const loss = (config as unknown as { LOSS: { USE_DIFFERENT_JOINTS_WEIGHT: boolean } }).LOSS;
  return {
    item: {
      imageSize: config.MODEL.IMAGE_SIZE,
      heatmapSize: config.MODEL.HEATMAP_SIZE,
      sigma: config.MODEL.SIGMA,
      colorRgb: d.COLOR_RGB,
      joints,
      ...(loss?.USE_DIFFERENT_JOINTS_WEIGHT && joints.jointsWeight
        ? { jointsWeight: joints.jointsWeight }
        : {}),
    },
    augmentation: {
      scaleFactor: d.SCALE_FACTOR,
      rotationFactor: d.ROT_FACTOR,
      flip: d.FLIP,
      numJointsHalfBody: d.NUM_JOINTS_HALF_BODY,
      probHalfBody: d.PROB_HALF_BODY,
      aspectRatio: config.MODEL.IMAGE_SIZE[0] / config.MODEL.IMAGE_SIZE[1],
      joints,
    },
  };
}
