import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendFileChecked, makeDirectory } from '../../common/atomic-write.ts';
import { UserError } from '../../common/user-error.ts';
import { type Batch, BatchLoader } from '../data/batch-loader.ts';
import { cocoAnnotationFile, loadCocoGroundTruth } from '../data/coco.ts';
import { loadDataset } from '../data/dataset.ts';
import { loadMpiiGroundTruth } from '../data/mpii.ts';
import type { Sample } from '../data/sample.ts';
import { cocoKeypointEval } from '../eval/coco-eval.ts';
import { cocoResults } from '../eval/coco-results.ts';
import { mpiiPckh } from '../eval/mpii-pckh.ts';
import { trainingAccuracy } from '../eval/training-accuracy.ts';
import {
  datasetSettings,
  loaderWorkers,
  type RuntimeConfig,
  validateSettings,
} from '../experiment-settings.ts';
import type { GpuContext } from '../gpu/adapter.ts';
import { DeviceGuard } from '../gpu/device-guard.ts';
import { ForwardRunner } from '../gpu/forward-runner.ts';
import type { KernelChoiceSummary } from '../kernel-choice.ts';
import type { Heatmaps } from '../pose/heatmaps.ts';
import type { TrainStepProgram } from '../program.ts';
import type { CompiledProgram } from '../program-loader.ts';
import { predictDataset } from '../validate.ts';
import type { TensorMap } from '../weights/safetensors.ts';
import { checkTrainingBatchFits } from './batch-fit.ts';
import {
  type CheckpointInfo,
  checkpointFiles,
  lastCheckpointNote,
  readCheckpoint,
  writeCheckpoint,
  writeWeights,
} from './checkpoint.ts';
import { learningRate } from './learning-rate.ts';
import { writeTrainingCurves } from './plot.ts';
import { type OptimizerKind, TrainStepRunner } from './train-step-runner.ts';

/** The official keys training reads. */
export interface TrainingConfig extends RuntimeConfig {
  readonly GPUS: readonly number[];
  readonly WORKERS: number;
  readonly PRINT_FREQ: number;
  readonly AUTO_RESUME: boolean;
  readonly OUTPUT_DIR: string;
  readonly LOSS: { readonly USE_TARGET_WEIGHT: boolean };
  readonly DATASET: RuntimeConfig['DATASET'] & {
    readonly ROOT: string;
    readonly TRAIN_SET: string;
    readonly TEST_SET: string;
    readonly SHUFFLE?: boolean;
  };
  readonly TRAIN: {
    readonly LR: number;
    readonly LR_STEP: readonly number[];
    readonly LR_FACTOR: number;
    readonly OPTIMIZER: OptimizerKind;
    readonly MOMENTUM: number;
    readonly WD: number;
    readonly NESTEROV: boolean;
    readonly BEGIN_EPOCH: number;
    readonly END_EPOCH: number;
    readonly BATCH_SIZE_PER_GPU: number;
    readonly SHUFFLE: boolean;
  };
  readonly TEST: RuntimeConfig['TEST'] & {
    readonly BATCH_SIZE_PER_GPU: number;
    readonly IN_VIS_THRE: number;
    readonly OKS_THRE: number;
    readonly SOFT_NMS: boolean;
  };
}

export interface EpochRecord {
  readonly epoch: number;
  readonly lr: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly validAccuracy: number;
  /** The dataset metric: MPII PCKh Mean, or COCO AP. */
  readonly perf: number;
  readonly seconds: number;
  readonly imagesPerSecond: number;
  readonly best: boolean;
}

export interface TrainingEvents {
  readonly onEpochStart?: (epoch: number, batches: number, lr: number) => void;
  readonly onBatch?: (
    done: number,
    stats: { loss: number; accuracy: number; imagesPerSecond: number },
  ) => void;
  /** Each batch with its heatmaps, in training and in validation (e.g. for DEBUG pictures). */
  readonly onTrainHeatmaps?: (index: number, batch: Batch, heatmaps: Heatmaps) => void;
  readonly onValidationHeatmaps?: (index: number, batch: Batch, heatmaps: Heatmaps) => void;
  readonly onValidationStart?: (samples: number) => void;
  readonly onValidationBatch?: (done: number) => void;
  readonly onEpochEnd?: (record: EpochRecord) => void;
  readonly onResume?: (info: CheckpointInfo) => void;
  /** Once the training pipelines exist: which convolution kernels the step runs, and why. */
  readonly onKernelChoice?: (chosen: KernelChoiceSummary) => void;
}

export interface TrainingRun {
  readonly config: TrainingConfig;
  readonly compiled: CompiledProgram;
  readonly trainStep: TrainStepProgram;
  readonly dataRoot: string;
  /** Initial weights by official name (used when not resuming). */
  readonly initialWeights: TensorMap;
  /** OUTPUT_DIR/<dataset>/<model>/<experiment>. */
  readonly outputDir: string;
  /** Seeds shuffling and augmentation. */
  readonly seed: number;
  readonly events?: TrainingEvents;
}

export class TrainingDivergedError extends UserError {}

/**
 * The official train.py loop: per epoch the MultiStepLR rate, shuffled augmented batches, one
 * training step each (with the official training accuracy), then validation with the dataset's
 * metric, checkpoint.safetensors (and model_best when the metric is the best so far), and finally
 * final_state.safetensors. AUTO_RESUME continues from checkpoint.safetensors exactly.
 */
export async function train(gpu: GpuContext, run: TrainingRun): Promise<EpochRecord[]> {
  const { config, compiled, trainStep, outputDir, events } = run;
  makeDirectory(outputDir, 'the training output folder');
  const settings = datasetSettings(config);
  const format = config.DATASET.DATASET;
  const trainSet = loadDataset({
    format,
    root: run.dataRoot,
    imageSet: config.DATASET.TRAIN_SET,
    aspectRatio: settings.augmentation.aspectRatio,
  });
  const validSet = loadDataset({
    format,
    root: run.dataRoot,
    imageSet: config.DATASET.TEST_SET,
    aspectRatio: settings.augmentation.aspectRatio,
  });
  const gpus = config.GPUS.length;
  const batchSize = config.TRAIN.BATCH_SIZE_PER_GPU * gpus;
  const optimizer = {
    kind: config.TRAIN.OPTIMIZER,
    momentum: config.TRAIN.MOMENTUM,
    weightDecay: config.TRAIN.WD,
    nesterov: config.TRAIN.NESTEROV,
  };
  checkTrainingBatchFits(gpu.limits, trainStep, Math.min(batchSize, trainSet.samples.length), gpus);
  // A lost device or a failed allocation stops training at once with one line (and never hangs it);
  // checkpoints are written only from state read back whole, so the last one stays as it was.
  const guard = new DeviceGuard(gpu.device, {
    lost: () => lastCheckpointNote(outputDir),
    outOfMemory: () =>
      `; lower TRAIN.BATCH_SIZE_PER_GPU (now ${config.TRAIN.BATCH_SIZE_PER_GPU})${lastCheckpointNote(outputDir)}`,
  });
  const runner = await guard.run('the creation of the training pipelines', () =>
    TrainStepRunner.create(gpu, trainStep, compiled.kernels, optimizer, compiled.tuning),
  );
  events?.onKernelChoice?.(runner.kernelChoice);

  let beginEpoch = config.TRAIN.BEGIN_EPOCH;
  let bestPerf = 0;
  const checkpoint = config.AUTO_RESUME ? readCheckpoint(outputDir) : undefined;
  if (checkpoint) {
    if (checkpoint.info.optimizer !== optimizer.kind)
      throw new UserError(
        `${outputDir}/${checkpoint.info.optimizer} checkpoint cannot resume with TRAIN.OPTIMIZER ${optimizer.kind}`,
      );
    runner.setState(checkpoint.tensors);
    runner.setOptimizerState(checkpoint.info.steps, checkpoint.tensors);
    beginEpoch = checkpoint.info.epoch;
    bestPerf = checkpoint.info.bestPerf;
    events?.onResume?.(checkpoint.info);
  } else {
    runner.setState(run.initialWeights);
  }

  const loader = new BatchLoader({
    samples: trainSet.samples,
    batchSize,
    shuffle: config.TRAIN.SHUFFLE,
    augment: true,
    seed: run.seed,
    itemSettings: settings.item,
    augmentationSettings: settings.augmentation,
    workers: loaderWorkers(config),
  });
  const validator = await guard.run('the creation of the validation pipelines', () =>
    ForwardRunner.forCompiled(gpu, compiled, 'zeros'),
  );
  const records: EpochRecord[] = [];
  const logPath = join(outputDir, 'train-log.jsonl');
  const [hw, hh] = settings.item.heatmapSize;
  const joints = settings.item.joints.names.length;
  try {
    for (let epoch = beginEpoch; epoch < config.TRAIN.END_EPOCH; epoch++) {
      const lr = learningRate(epoch, config.TRAIN.LR, config.TRAIN.LR_STEP, config.TRAIN.LR_FACTOR);
      events?.onEpochStart?.(epoch, loader.batchesPerEpoch(), lr);
      const started = performance.now();
      let lossSum = 0;
      let accuracySum = 0;
      let accuracyCount = 0;
      let images = 0;
      let batchIndex = 0;
      for await (const batch of loader.epoch(epoch)) {
        const count = batch.indices.length;
        const result = await guard.run(`training step ${batchIndex + 1} of epoch ${epoch + 1}`, () =>
          runner.step(
            { count, input: batch.input, target: batch.target, targetWeight: batch.targetWeight },
            lr,
            { heatmaps: true },
          ),
        );
        if (!Number.isFinite(result.loss)) {
          throw new TrainingDivergedError(
            `the loss became ${result.loss} in epoch ${epoch}, batch ${batchIndex}; training stopped and ${checkpointFiles.checkpoint} keeps the last good state (try a lower TRAIN.LR)`,
          );
        }
        const heatmaps: Heatmaps = { batch: count, joints, height: hh, width: hw, data: result.heatmaps! };
        const accuracy = trainingAccuracy(heatmaps, { ...heatmaps, data: batch.target });
        lossSum += result.loss * count;
        accuracySum += accuracy.average * accuracy.count;
        accuracyCount += accuracy.count;
        images += count;
        events?.onTrainHeatmaps?.(batchIndex, batch, heatmaps);
        batchIndex++;
        const seconds = (performance.now() - started) / 1000;
        events?.onBatch?.(batchIndex, {
          loss: lossSum / images,
          accuracy: accuracyCount ? accuracySum / accuracyCount : 0,
          imagesPerSecond: images / seconds,
        });
      }
      const trainSeconds = (performance.now() - started) / 1000;
      const state = await guard.run(`reading the weights after epoch ${epoch + 1}`, () => runner.readState());
      validator.updateState(state);
      const { perf, validAccuracy } = await guard.run(`the validation of epoch ${epoch + 1}`, () =>
        validate(validator, validSet.samples, config, run.dataRoot, events),
      );
      const best = perf >= bestPerf;
      if (best) bestPerf = perf;
      const info: CheckpointInfo = {
        epoch: epoch + 1,
        perf,
        bestPerf,
        steps: runner.steps,
        optimizer: optimizer.kind,
        model: config.MODEL.NAME,
      };
      const optimizerState = await guard.run(`reading the optimizer state after epoch ${epoch + 1}`, () =>
        runner.readOptimizerState(),
      );
      writeCheckpoint(outputDir, info, state, optimizerState);
      if (best)
        writeWeights(join(outputDir, checkpointFiles.best), state, {
          epoch: String(epoch + 1),
          perf: String(perf),
          steps: String(runner.steps),
        });
      const record: EpochRecord = {
        epoch,
        lr,
        loss: lossSum / images,
        accuracy: accuracyCount ? accuracySum / accuracyCount : 0,
        validAccuracy,
        perf,
        seconds: (performance.now() - started) / 1000,
        imagesPerSecond: images / trainSeconds,
        best,
      };
      records.push(record);
      appendFileChecked(logPath, `${JSON.stringify(record)}\n`);
      writePlot(outputDir, logPath);
      events?.onEpochEnd?.(record);
    }
    const finalState = await guard.run('reading the final weights', () => runner.readState());
    writeWeights(join(outputDir, checkpointFiles.final), finalState, { steps: String(runner.steps) });
  } finally {
    await loader.close();
    validator.destroy();
    runner.destroy();
  }
  return records;
}

/** The official validate(): flip test per TEST.FLIP_TEST, the dataset's metric, and the PCK on heatmaps. */
async function validate(
  runner: ForwardRunner,
  samples: readonly Sample[],
  config: TrainingConfig,
  root: string,
  events?: TrainingEvents,
): Promise<{ perf: number; validAccuracy: number }> {
  let accuracySum = 0;
  let accuracyCount = 0;
  events?.onValidationStart?.(samples.length);
  const predictions = await predictDataset(
    runner,
    samples,
    {
      ...validateSettings(config),
      onBatchHeatmaps: (index, batch, heatmaps) => {
        events?.onValidationHeatmaps?.(index, batch, heatmaps);
        const accuracy = trainingAccuracy(heatmaps, { ...heatmaps, data: batch.target });
        accuracySum += accuracy.average * accuracy.count;
        accuracyCount += accuracy.count;
      },
    },
    (done) => events?.onValidationBatch?.(done),
  );
  const validAccuracy = accuracyCount ? accuracySum / accuracyCount : 0;
  if (config.DATASET.DATASET === 'mpii') {
    const gt = loadMpiiGroundTruth(join(root, 'annot', `gt_${config.DATASET.TEST_SET}.json`));
    const pckh = mpiiPckh(
      predictions.map((p) => p.joints.map((j) => [j.x, j.y] as [number, number])),
      gt,
    );
    return { perf: Number.isFinite(pckh.Mean) ? pckh.Mean : 0, validAccuracy };
  }
  const results = cocoResults(predictions, {
    inVisThreshold: config.TEST.IN_VIS_THRE,
    oksThreshold: config.TEST.OKS_THRE,
    softNms: config.TEST.SOFT_NMS,
  });
  const stats = cocoKeypointEval(
    loadCocoGroundTruth(cocoAnnotationFile(root, config.DATASET.TEST_SET)),
    results,
  );
  return { perf: Math.max(0, stats.AP), validAccuracy };
}

function writePlot(outputDir: string, logPath: string): void {
  const records = readFileSync(logPath, 'utf8')
    .trim()
    .split('\n')
    .map((line: string) => JSON.parse(line) as EpochRecord);
  writeTrainingCurves(outputDir, records);
}
