import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { checkOutputFile, writeFileAtomic } from '../../common/atomic-write.ts';
import { type AdapterChoice, openGpu } from '../../runtime/gpu/adapter.ts';
import { DeviceGuard } from '../../runtime/gpu/device-guard.ts';
import type { TuningFile } from '../../runtime/kernel-choice.ts';
import type { Dispatch } from '../../runtime/program.ts';
import { loadCompiledProgram, loadTrainStep } from '../../runtime/program-loader.ts';
import { tuneKernels } from '../../runtime/tune/tune-kernels.ts';
import { tuneTrainingKernels } from '../../runtime/tune/tune-training-kernels.ts';
import { adapterOption, parseSeed } from '../options.ts';
import { kernelProgress, progressBar } from '../progress.ts';

function parseBatch(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError('expected 1 to 256');
  return n;
}

function parseRepetitions(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError('expected 1 to 100');
  return n;
}

export function registerTuneCommand(program: Command): void {
  program
    .command('tune')
    .description(
      "time every kernel variant of each convolution on this adapter (each checked against the reference kernel first) and write OUT/<experiment>/tuning.json, which forward, predict, test, train and serve then use on this adapter; --training also times the training step's convolution launches, which train and train-step then use",
    )
    .argument('<compiled>', 'the folder hrnetc wrote, OUT/<experiment>')
    .option('--batch <n>', 'batch size to time at', parseBatch, 1)
    .option('--repetitions <n>', 'timed dispatches per candidate (the median counts)', parseRepetitions, 5)
    .option('--seed <n>', 'seed of the random inputs and weights', parseSeed, 0)
    .option(
      '--training',
      "also time the training step's convolution launches (forward, input and weight gradients) at --batch",
    )
    .addOption(adapterOption())
    .action(
      async (
        compiled: string,
        flags: { batch: number; repetitions: number; seed: number; training?: true; adapter: AdapterChoice },
      ) => {
        const output = join(compiled, 'tuning.json');
        checkOutputFile(output);
        const program = await loadCompiledProgram(compiled);
        const trainStep = flags.training ? await loadTrainStep(compiled) : undefined;
        const choiceKeys = (dispatches: readonly Dispatch[]) =>
          new Set(dispatches.flatMap((d) => (d.choice ? [d.choice.key] : [])));
        const choices = choiceKeys(program.forward.dispatches);
        const trainingChoices = choiceKeys(trainStep?.dispatches ?? []);
        if (choices.size + trainingChoices.size === 0) {
          process.stderr.write(
            `hrnet: ${compiled} has one kernel per convolution (compiled with --target gpu?); nothing to tune\n`,
          );
          return;
        }
        if (trainStep && trainingChoices.size === 0)
          process.stderr.write(
            `hrnet: the training step in ${compiled} has one kernel per convolution launch (compiled with --target software or gpu?); its kernels are not tuned\n`,
          );
        const gpu = await openGpu(flags.adapter, { onKernelProgress: kernelProgress() });
        const guard = new DeviceGuard(gpu.device);
        const measure = { batch: flags.batch, repetitions: flags.repetitions, seed: flags.seed };
        const tuned = await withBar('tune', choices.size, (onProgress) =>
          guard.run('tuning', () => tuneKernels(gpu, program, { ...measure, onProgress })),
        );
        const training =
          trainStep && trainingChoices.size > 0
            ? await withBar('tune training', trainingChoices.size, (onProgress) =>
                guard.run('tuning the training step', () =>
                  tuneTrainingKernels(gpu, trainStep, program.kernels, { ...measure, onProgress }),
                ),
              )
            : undefined;
        for (const line of [...tuned.rejected, ...(training?.rejected ?? [])])
          process.stderr.write(`hrnet: warning: rejected (output differs from the reference): ${line}\n`);
        const file: TuningFile = {
          ...tuned.file,
          ...(training ? { training: { batch: flags.batch, kernels: training.kernels } } : {}),
        };
        writeFileAtomic(output, `${JSON.stringify(file, null, 2)}\n`);
        const chose = (kernels: TuningFile['kernels']) => {
          const counts = new Map<string, number>();
          for (const kernel of Object.values(kernels))
            counts.set(kernel.variant, (counts.get(kernel.variant) ?? 0) + 1);
          return [...counts].map(([name, n]) => `${name} ${n}`).join(', ');
        };
        const timedTraining = training
          ? ` and ${trainingChoices.size} training-step convolution launches (chose ${chose(training.kernels)})`
          : '';
        process.stderr.write(
          `hrnet: timed ${choices.size} convolutions (chose ${chose(tuned.file.kernels)})${timedTraining} at batch ${flags.batch} on ${gpu.adapterDescription} (${tuned.clock}); wrote ${output}\n`,
        );
      },
    );
}

/** Runs `work` under a progress bar of `total` steps, each named by its key. */
async function withBar<T>(
  what: string,
  total: number,
  work: (onProgress: (done: number, total: number, key: string) => void) => Promise<T>,
): Promise<T> {
  const bar = progressBar(what, total, '{key}', { key: '' });
  try {
    return await work((done, _total, key) => bar.update(done, { key }));
  } finally {
    bar.stop();
  }
}
