import { batchOf, epochOrder, itemAugmentation } from '../runtime/data/batch.ts';
import { prepareItem } from '../runtime/data/joints-dataset.ts';
import { mpiiSample } from '../runtime/data/mpii-sample.ts';
import type { Sample } from '../runtime/data/sample.ts';
import { syntheticMpiiImage } from '../runtime/data/synthetic/synthetic-image.ts';
import { trainingAccuracy } from '../runtime/eval/training-accuracy.ts';
import { datasetSettings, type RuntimeConfig } from '../runtime/experiment-settings.ts';
import type { GpuContext } from '../runtime/gpu/adapter.ts';
import type { RgbImage } from '../runtime/image/rgb-image.ts';
import type { TuningFile } from '../runtime/kernel-choice.ts';
import type { TrainStepProgram } from '../runtime/program.ts';
import { learningRate } from '../runtime/train/learning-rate.ts';
import { TrainStepRunner } from '../runtime/train/train-step-runner.ts';
import type { TrainingConfig } from '../runtime/train/trainer.ts';
import type { NamedTensor, TensorMap } from '../runtime/weights/safetensors.ts';

/** What the page trains on: `figures` images of `hrnet synth --format mpii --seed SEED`. */
export interface TrainingSet {
  readonly seed: number;
  readonly figures: number;
  readonly items: readonly { readonly image: RgbImage; readonly sample: Sample }[];
}

export interface StepRecord {
  /** 1-based, over every run on this page. */
  readonly step: number;
  readonly epoch: number;
  readonly lr: number;
  readonly loss: number;
  readonly accuracy: number;
  /** Images trained per second since the run began (item preparation included, as `hrnet train`). */
  readonly imagesPerSecond: number;
}

/**
 * The training images, drawn as `hrnet train --synthetic` draws them (twice the input size, MPII
 * joints) but kept as pixels: the JPEG encoding the files get is skipped.
 */
export function syntheticTrainingSet(config: RuntimeConfig, figures: number, seed: number): TrainingSet {
  if (config.DATASET.DATASET !== 'mpii')
    throw new Error(
      `training in the page draws MPII figures; this experiment is ${config.DATASET.DATASET} (use hrnet train --synthetic)`,
    );
  const [w, h] = config.MODEL.IMAGE_SIZE;
  const items = Array.from({ length: figures }, (_, index) => {
    const { image, annotation } = syntheticMpiiImage(seed, index, [w * 2, h * 2]);
    return { image, sample: mpiiSample(annotation, annotation.image, true) };
  });
  return { seed, figures, items };
}

/**
 * The official training loop, a given number of steps at a time, in a page: the experiment's
 * optimizer (TRAIN.OPTIMIZER, LR with its MultiStepLR schedule, MOMENTUM, WD, NESTEROV), shuffled
 * (TRAIN.SHUFFLE) and augmented batches as BatchLoader makes them, and the official training
 * accuracy. Given the same set, seed and steps, every loss is the same bit for bit: the batches come
 * from seeded streams and each training step's reductions have a fixed order.
 */
export class PageTrainer {
  private readonly history: StepRecord[] = [];
  /** Batches taken from the current set's epochs, so a second run continues where the first stopped. */
  private cursor = 0;
  private set: TrainingSet | undefined;
  private batchSize = 0;

  private constructor(
    private readonly runner: TrainStepRunner,
    private readonly config: TrainingConfig,
  ) {}

  /**
   * Compiles the training kernels (those the tuning file's training part names for this adapter,
   * else its class's defaults) and loads `weights` (parameters and running statistics).
   */
  static async create(
    gpu: GpuContext,
    trainStep: TrainStepProgram,
    kernels: ReadonlyMap<string, string>,
    config: RuntimeConfig,
    weights: TensorMap,
    tuning?: TuningFile,
  ): Promise<PageTrainer> {
    const training = config as TrainingConfig;
    const optimizer = {
      kind: training.TRAIN.OPTIMIZER,
      momentum: training.TRAIN.MOMENTUM,
      weightDecay: training.TRAIN.WD,
      nesterov: training.TRAIN.NESTEROV,
    };
    const runner = await TrainStepRunner.create(gpu, trainStep, kernels, optimizer, tuning);
    runner.setState(weights);
    return new PageTrainer(runner, training);
  }

  get steps(): readonly StepRecord[] {
    return this.history;
  }

  /** Checks that a batch of `count` fits the device before anything runs. */
  checkBatch(count: number): void {
    this.runner.checkBatch(count);
  }

  /** Trains `steps` batches of `batchSize` from `set`, telling `onStep` after each. */
  async train(
    set: TrainingSet,
    steps: number,
    batchSize: number,
    onStep: (record: StepRecord) => void,
  ): Promise<void> {
    if (set !== this.set || batchSize !== this.batchSize) {
      this.set = set;
      this.batchSize = batchSize;
      this.cursor = 0;
    }
    const { item: itemSettings, augmentation } = datasetSettings(this.config);
    const [hw, hh] = itemSettings.heatmapSize;
    const joints = itemSettings.joints.names.length;
    const batchesPerEpoch = Math.ceil(set.figures / batchSize);
    const { TRAIN } = this.config;
    const started = performance.now();
    let images = 0;
    for (let s = 0; s < steps; s++, this.cursor++) {
      const epoch = Math.floor(this.cursor / batchesPerEpoch);
      const within = this.cursor % batchesPerEpoch;
      const indices = epochOrder(set.figures, TRAIN.SHUFFLE, set.seed, epoch).slice(
        within * batchSize,
        (within + 1) * batchSize,
      );
      const batch = batchOf(
        indices.map((index) => {
          const { image, sample } = set.items[index]!;
          return prepareItem(
            image,
            sample,
            itemAugmentation(sample, index, epoch, set.seed, augmentation),
            itemSettings,
          );
        }),
        indices,
      );
      const count = indices.length;
      const lr = learningRate(TRAIN.BEGIN_EPOCH + epoch, TRAIN.LR, TRAIN.LR_STEP, TRAIN.LR_FACTOR);
      const result = await this.runner.step(
        { count, input: batch.input, target: batch.target, targetWeight: batch.targetWeight },
        lr,
        { heatmaps: true },
      );
      if (!Number.isFinite(result.loss))
        throw new Error(
          `the loss became ${result.loss} at step ${this.history.length + 1}; try a lower TRAIN.LR`,
        );
      const heatmaps = { batch: count, joints, height: hh, width: hw, data: result.heatmaps! };
      images += count;
      const record: StepRecord = {
        step: this.history.length + 1,
        epoch,
        lr,
        loss: result.loss,
        accuracy: trainingAccuracy(heatmaps, { ...heatmaps, data: batch.target }).average,
        imagesPerSecond: images / ((performance.now() - started) / 1000),
      };
      this.history.push(record);
      onStep(record);
    }
  }

  /** Parameters and running statistics by official name, in state_dict order. */
  readState(): Promise<Map<string, NamedTensor>> {
    return this.runner.readState();
  }

  /** Optimizer steps taken (the download's metadata says how trained it is). */
  get optimizerSteps(): number {
    return this.runner.steps;
  }
}
