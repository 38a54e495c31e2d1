import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { checkOutputFile, writeFileAtomic } from '../../common/atomic-write.ts';
import { type AdapterChoice, openGpu } from '../../runtime/gpu/adapter.ts';
import { DeviceGuard } from '../../runtime/gpu/device-guard.ts';
import { loadCompiledProgram } from '../../runtime/program-loader.ts';
import { tuneKernels } from '../../runtime/tune/tune-kernels.ts';
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
      'time every kernel variant of each convolution on this adapter (each checked against the reference kernel first) and write OUT/<experiment>/tuning.json, which forward, predict, test, train and serve then use on this adapter',
    )
    .argument('<compiled>', 'the folder hrnetc wrote, OUT/<experiment>')
    .option('--batch <n>', 'batch size to time at', parseBatch, 1)
    .option('--repetitions <n>', 'timed dispatches per candidate (the median counts)', parseRepetitions, 5)
    .option('--seed <n>', 'seed of the random inputs and weights', parseSeed, 0)
    .addOption(adapterOption())
    .action(
      async (
        compiled: string,
        flags: { batch: number; repetitions: number; seed: number; adapter: AdapterChoice },
      ) => {
        const output = join(compiled, 'tuning.json');
        checkOutputFile(output);
        const program = await loadCompiledProgram(compiled);
        const choices = new Set(program.forward.dispatches.flatMap((d) => (d.choice ? [d.choice.key] : [])));
        if (choices.size === 0) {
          process.stderr.write(
            `hrnet: ${compiled} has one kernel per convolution (compiled with --target gpu?); nothing to tune\n`,
          );
          return;
        }
        const gpu = await openGpu(flags.adapter, { onKernelProgress: kernelProgress() });
        const bar = progressBar('tune', choices.size, '{key}', { key: '' });
        const result = await new DeviceGuard(gpu.device).run('tuning', () =>
          tuneKernels(gpu, program, {
            batch: flags.batch,
            repetitions: flags.repetitions,
            seed: flags.seed,
            onProgress: (done, _total, key) => bar.update(done, { key }),
          }),
        );
        bar.stop();
        for (const line of result.rejected)
          process.stderr.write(`hrnet: warning: rejected (output differs from the reference): ${line}\n`);
        writeFileAtomic(output, `${JSON.stringify(result.file, null, 2)}\n`);
        const counts = new Map<string, number>();
        for (const tuned of Object.values(result.file.kernels))
          counts.set(tuned.variant, (counts.get(tuned.variant) ?? 0) + 1);
        const chosen = [...counts].map(([name, n]) => `${name} ${n}`).join(', ');
        process.stderr.write(
          `hrnet: timed ${choices.size} convolutions at batch ${flags.batch} on ${gpu.adapterDescription} (${result.clock}); chose ${chosen}; wrote ${output}\n`,
        );
      },
    );
}
