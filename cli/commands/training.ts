import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type cliProgress from 'cli-progress';
import { type Command, Option } from 'commander';
import { checkOutputFile, temporaryFilePattern, writeErrorMessage } from '../../common/atomic-write.ts';
import { lockFileName, lockOutputDirectory } from '../../common/output-lock.ts';
import { UserError } from '../../common/user-error.ts';
import { detectFormat } from '../../runtime/data/dataset.ts';
import { writeSyntheticDataset } from '../../runtime/data/synthetic/write-dataset.ts';
import { type AdapterChoice, openGpu } from '../../runtime/gpu/adapter.ts';
import { loadCompiledProgram, loadTrainStep } from '../../runtime/program-loader.ts';
import { checkpointFiles } from '../../runtime/train/checkpoint.ts';
import { TrainStepRunner } from '../../runtime/train/train-step-runner.ts';
import { type TrainingConfig, train } from '../../runtime/train/trainer.ts';
import { applyPretrained, officialInitialWeights } from '../../runtime/weights/init-weights.ts';
import { checkWeights } from '../../runtime/weights/pack-weights.ts';
import { readWeights } from '../../runtime/weights/read-weights.ts';
import { type NamedTensor, readSafetensors, writeSafetensors } from '../../runtime/weights/safetensors.ts';
import { compiledConfig } from '../compiled-config.ts';
import { debugWriter } from '../debug-output.ts';
import { noteKernelChoice } from '../kernel-note.ts';
import { adapterOption, parseCount, parseSeed } from '../options.ts';
import { kernelProgress, progressBar } from '../progress.ts';

interface TrainFlags {
  data?: string;
  synthetic?: number;
  weights?: string;
  seed: number;
  adapter: AdapterChoice;
}

/** A synthetic data set being written: `<its name>.partial-<pid>`. */
const partialSuffix = '.partial-';

/**
 * What a run that ended without cleaning up (SIGKILL, a crash) can leave in the output folder: the
 * temporary files of atomic writes and half-written synthetic data sets. Called with the folder locked,
 * so none of them belongs to a run still going.
 */
function removeLeftovers(outputDir: string): void {
  for (const name of readdirSync(outputDir)) {
    if (temporaryFilePattern.test(name) || (name.startsWith('synthetic-') && name.includes(partialSuffix)))
      rmSync(join(outputDir, name), { recursive: true, force: true });
  }
}

/**
 * Test hook: HRNETC_TEST_LOSE_DEVICE_AFTER_BATCHES=N destroys the GPU device after the N-th training
 * batch of the run, as if the driver had lost it (tests of the device-loss handling use it; nothing
 * else reads it).
 */
function deviceLossHook(gpu: { device: GPUDevice }): (() => void) | undefined {
  const after = Number(process.env.HRNETC_TEST_LOSE_DEVICE_AFTER_BATCHES);
  if (!Number.isInteger(after) || after < 1) return undefined;
  let batches = 0;
  return () => {
    if (++batches === after) gpu.device.destroy();
  };
}

/** OUTPUT_DIR/<dataset>/<model>/<experiment>, as the official create_logger names it. */
function finalOutputDir(config: TrainingConfig, experiment: string): string {
  return join(config.OUTPUT_DIR || 'output', config.DATASET.DATASET, config.MODEL.NAME, experiment);
}

/** The dataset folder: --data, a synthetic set made for --synthetic N, or DATASET.ROOT. */
function dataRoot(config: TrainingConfig, flags: TrainFlags, outputDir: string): string {
  if (flags.data) return resolve(flags.data);
  if (flags.synthetic !== undefined) {
    const root = join(outputDir, `synthetic-${config.DATASET.DATASET}-${flags.synthetic}-seed${flags.seed}`);
    if (!existsSync(root)) {
      const [w, h] = config.MODEL.IMAGE_SIZE;
      const total = flags.synthetic + Math.max(8, Math.round(flags.synthetic / 4));
      const bar = progressBar('synthetic data', total);
      // Written under another name and renamed when whole, so an interrupted run leaves no half set
      // for the next run to take as complete.
      const partial = `${root}${partialSuffix}${process.pid}`;
      try {
        writeSyntheticDataset({
          format: config.DATASET.DATASET,
          train: flags.synthetic,
          validation: Math.max(8, Math.round(flags.synthetic / 4)),
          seed: flags.seed,
          size: [w * 2, h * 2],
          out: partial,
          onImage: (done) => bar.update(done),
        });
        renameSync(partial, root);
      } catch (e) {
        rmSync(partial, { recursive: true, force: true });
        if (e instanceof UserError) throw e;
        throw new UserError(writeErrorMessage(root, e, 'write the synthetic data set'));
      } finally {
        bar.stop();
      }
    }
    return root;
  }
  if (config.DATASET.ROOT && existsSync(config.DATASET.ROOT)) return resolve(config.DATASET.ROOT);
  throw new UserError(
    `no data: DATASET.ROOT '${config.DATASET.ROOT}' does not exist; pass --data DIR, or --synthetic N for generated data`,
  );
}

/**
 * The official initial weights: init_weights (conv ~ N(0, 0.001²), BN γ=1, β=0) then MODEL.PRETRAINED's
 * entries whose first name component is in PRETRAINED_LAYERS; or, with --weights, that file.
 */
function initialWeights(
  config: TrainingConfig,
  parameters: Parameters<typeof officialInitialWeights>[0],
  flags: TrainFlags,
): Map<string, NamedTensor> {
  if (flags.weights) {
    const weights = readWeights(flags.weights);
    checkWeights(parameters, weights);
    return weights;
  }
  const weights = officialInitialWeights(parameters, flags.seed);
  const model = config.MODEL as TrainingConfig['MODEL'] & {
    INIT_WEIGHTS: boolean;
    PRETRAINED: string;
    EXTRA: { PRETRAINED_LAYERS: string[] };
  };
  if (model.INIT_WEIGHTS && model.PRETRAINED) {
    if (!existsSync(model.PRETRAINED))
      throw new UserError(
        `MODEL.PRETRAINED ${model.PRETRAINED} does not exist (set MODEL.PRETRAINED '' to start from the official initialisation)`,
      );
    const { loaded, unmatchedLayers } = applyPretrained(
      weights,
      readWeights(model.PRETRAINED),
      model.EXTRA.PRETRAINED_LAYERS,
    );
    const unmatched = unmatchedLayers.length
      ? `; MODEL.EXTRA.PRETRAINED_LAYERS entries that matched no tensor: ${unmatchedLayers.join(', ')}`
      : '';
    process.stderr.write(
      `hrnet: loaded ${loaded.length} pretrained tensors from ${model.PRETRAINED}${unmatched}\n`,
    );
  }
  return weights;
}

async function runTraining(compiled: string, overrides: string[], flags: TrainFlags): Promise<void> {
  const program = await loadCompiledProgram(compiled);
  const trainStep = await loadTrainStep(compiled);
  const config = compiledConfig(compiled, program.manifest, overrides) as TrainingConfig;
  const outputDir = finalOutputDir(config, program.manifest.experiment);
  // One run per output folder: a second one would interleave checkpoints and logs with this one's.
  const lock = lockOutputDirectory(outputDir, {
    what: 'the training output folder',
    hint: ' (check OUTPUT_DIR)',
    command: 'hrnet train',
    onSignal: (signal) =>
      process.stderr.write(
        // On a terminal: show the cursor a progress bar hid, on a line of its own.
        `${process.stderr.isTTY ? '\x1b[?25h\n' : ''}hrnet: stopped by ${signal}; ${existsSync(join(outputDir, checkpointFiles.checkpoint)) ? `${join(outputDir, checkpointFiles.checkpoint)} holds the last finished epoch` : 'no epoch had finished'}\n`,
      ),
  });
  try {
    if (lock.tookOverFrom)
      process.stderr.write(
        `hrnet: took over ${join(outputDir, lockFileName)} from pid ${lock.tookOverFrom.pid}, which has ended\n`,
      );
    removeLeftovers(outputDir);
    await trainLocked(program, trainStep, config, outputDir, flags);
  } finally {
    lock.release();
  }
}

async function trainLocked(
  program: Awaited<ReturnType<typeof loadCompiledProgram>>,
  trainStep: Awaited<ReturnType<typeof loadTrainStep>>,
  config: TrainingConfig,
  outputDir: string,
  flags: TrainFlags,
): Promise<void> {
  const root = dataRoot(config, flags, outputDir);
  const format = detectFormat(root);
  if (format !== config.DATASET.DATASET)
    throw new UserError(`${root} holds ${format} data but DATASET.DATASET is ${config.DATASET.DATASET}`);
  const weights = initialWeights(config, program.manifest.parameters, flags);
  const gpu = await openGpu(flags.adapter, { onKernelProgress: kernelProgress() });
  process.stderr.write(
    `hrnet: training ${program.manifest.experiment} on ${gpu.adapterDescription}; output in ${outputDir}\n`,
  );
  let bar: cliProgress.SingleBar | undefined;
  let epochLabel = '';
  const loseDevice = deviceLossHook(gpu);
  // The official train.py and validate() write these as train_<i>_*.png and val_<i>_*.png.
  const debug = (config as unknown as { DEBUG: { DEBUG: boolean } }).DEBUG.DEBUG
    ? {
        onTrainHeatmaps: debugWriter(config, outputDir, 'train'),
        onValidationHeatmaps: debugWriter(config, outputDir, 'val'),
      }
    : {};
  try {
    await train(gpu, {
      config,
      compiled: program,
      trainStep,
      dataRoot: root,
      initialWeights: weights,
      outputDir,
      seed: flags.seed,
      events: {
        ...debug,
        onKernelChoice: (chosen) => noteKernelChoice(chosen, 'training kernels'),
        onResume: (info) =>
          process.stderr.write(
            `hrnet: resuming from ${join(outputDir, 'checkpoint.safetensors')} after epoch ${info.epoch}\n`,
          ),
        onEpochStart: (epoch, batches, lr) => {
          epochLabel = `epoch ${epoch + 1}/${config.TRAIN.END_EPOCH}`;
          bar = progressBar(epochLabel, batches, 'loss {loss} | acc {acc} | {speed} img/s', {
            loss: '-',
            acc: '-',
            speed: '-',
          });
          void lr;
        },
        onBatch: (done, stats) => {
          bar?.update(done, {
            loss: stats.loss.toExponential(3),
            acc: stats.accuracy.toFixed(3),
            speed: stats.imagesPerSecond.toFixed(1),
          });
          loseDevice?.();
        },
        onValidationStart: (samples) => {
          bar?.stop();
          bar = progressBar(`${epochLabel} validation`, samples);
        },
        onValidationBatch: (done) => bar?.update(done),
        onEpochEnd: (r) => {
          bar?.stop();
          const metric = config.DATASET.DATASET === 'mpii' ? 'PCKh Mean' : 'AP';
          process.stderr.write(
            `${epochLabel}: lr ${r.lr.toExponential(2)}, loss ${r.loss.toExponential(4)}, train accuracy ${r.accuracy.toFixed(3)}, validation accuracy ${r.validAccuracy.toFixed(3)}, ${metric} ${r.perf.toFixed(3)}${r.best ? ' (best)' : ''}, ${r.imagesPerSecond.toFixed(1)} img/s\n`,
          );
        },
      },
    });
  } finally {
    // A progress bar left running would hide the cursor and redraw over the error line.
    bar?.stop();
  }
  process.stderr.write(
    `hrnet: wrote ${join(outputDir, 'final_state.safetensors')}, model_best.safetensors, checkpoint.safetensors, train-log.jsonl, training-curves.png\n`,
  );
}

export function addTrainOptions(command: Command): Command {
  return command
    .option('--data <dir>', 'dataset folder (default: DATASET.ROOT)')
    .option(
      '--synthetic <n>',
      'train on N generated images (and N/4 for validation) in the experiment’s format',
      parseCount,
    )
    .option(
      '--weights <file>',
      'start from these weights (official names) instead of the official initialisation',
    )
    .addOption(
      new Option('--seed <n>', 'seed for initialisation, shuffling, augmentation and synthetic data')
        .default(0)
        .argParser(parseSeed),
    )
    .addOption(adapterOption());
}

export function registerTrainingCommands(program: Command): void {
  addTrainOptions(
    program
      .command('train')
      .description(
        'train a compiled experiment as the official train.py does (epochs, LR steps, validation, checkpoints)',
      )
      .argument('<compiled>', 'the folder hrnetc wrote, OUT/<experiment>')
      .argument('[overrides...]', 'KEY VALUE pairs (e.g. TRAIN.END_EPOCH 5 TRAIN.LR 0.002)'),
  ).action((compiled: string, overrides: string[], flags: TrainFlags) =>
    runTraining(compiled, overrides, flags),
  );

  program
    .command('train-step')
    .description(
      'one training step for parity checks: B holds input, target, target_weight; writes loss, output, gradients, parameters after one optimizer step and BN running statistics',
    )
    .argument('<compiled>', 'the folder hrnetc wrote, OUT/<experiment>')
    .argument('[overrides...]', 'KEY VALUE pairs')
    .requiredOption('--weights <file>', 'weights by official PyTorch names (safetensors or PyTorch .pth)')
    .requiredOption(
      '--batch <file>',
      'safetensors with input (N,3,H,W), target (N,J,h,w), target_weight (N,J,1)',
    )
    .requiredOption('-o, --output <file>', 'safetensors file to write')
    .addOption(adapterOption())
    .action(
      async (
        compiled: string,
        overrides: string[],
        flags: { weights: string; batch: string; output: string; adapter: AdapterChoice },
      ) => {
        // Checked before any work, so that the step's result is not computed only to be lost.
        checkOutputFile(flags.output);
        const program = await loadCompiledProgram(compiled);
        const trainStep = await loadTrainStep(compiled);
        const config = compiledConfig(compiled, program.manifest, overrides) as TrainingConfig;
        const weights = readWeights(flags.weights);
        checkWeights(program.manifest.parameters, weights);
        const batch = readSafetensors(flags.batch);
        const tensor = (name: string, shape: readonly number[]) => {
          const t = batch.get(name);
          if (!t) throw new UserError(`${flags.batch} has no tensor named '${name}'`);
          if (t.shape.length !== shape.length + 1 || shape.some((d, i) => t.shape[i + 1] !== d)) {
            throw new UserError(
              `${name} is ${t.shape.join('x')}; this program takes N x ${shape.join(' x ')}`,
            );
          }
          return t;
        };
        const input = tensor('input', trainStep.inputShapes.input);
        const count = input.shape[0]!;
        const target = tensor('target', trainStep.inputShapes.target);
        const targetWeight = tensor('target_weight', trainStep.inputShapes.targetWeight);
        if (target.shape[0] !== count || targetWeight.shape[0] !== count)
          throw new UserError('input, target and target_weight disagree on the batch size');
        const gpu = await openGpu(flags.adapter, { onKernelProgress: kernelProgress() });
        const runner = await TrainStepRunner.create(
          gpu,
          trainStep,
          program.kernels,
          {
            kind: config.TRAIN.OPTIMIZER,
            momentum: config.TRAIN.MOMENTUM,
            weightDecay: config.TRAIN.WD,
            nesterov: config.TRAIN.NESTEROV,
          },
          program.tuning,
        );
        noteKernelChoice(runner.kernelChoice, 'training kernels');
        runner.setState(weights);
        const result = await runner.step(
          { count, input: input.data, target: target.data, targetWeight: targetWeight.data },
          config.TRAIN.LR,
          {
            heatmaps: true,
            gradients: true,
            gradInput: true,
          },
        );
        const after = await runner.readState();
        runner.destroy();
        const [hw, hh] = config.MODEL.HEATMAP_SIZE;
        const out: [string, NamedTensor][] = [
          ['loss', { shape: [1], data: Float32Array.of(result.loss) }],
          ['output', { shape: [count, config.MODEL.NUM_JOINTS, hh, hw], data: result.heatmaps! }],
          ['grad.input', { shape: input.shape, data: result.gradInput! }],
          ...[...runner.gradientTensors(result.gradients!)].map(
            ([name, t]) => [`grad.${name}`, t] as [string, NamedTensor],
          ),
          ...after,
        ];
        writeSafetensors(flags.output, out, {
          format: 'pt',
          source: 'hrnet train-step',
          lr: String(config.TRAIN.LR),
          optimizer: config.TRAIN.OPTIMIZER,
        });
        process.stderr.write(`hrnet: loss ${result.loss}; wrote ${out.length} tensors to ${flags.output}\n`);
      },
    );
}
