import { Command, InvalidArgumentError, Option } from 'commander';
import { runProgram } from '../../common/cli.ts';
import { UserError } from '../../common/user-error.ts';
import { type AdapterChoice, adapterChoices, openGpu } from '../gpu/adapter.ts';
import { ForwardRunner } from '../gpu/forward-runner.ts';
import { loadCompiledProgram } from '../program-loader.ts';
import { officialInitialWeights } from '../weights/init-weights.ts';
import { checkWeights, packWeights } from '../weights/pack-weights.ts';
import { readSafetensors, writeSafetensors } from '../weights/safetensors.ts';

const program = new Command('hrnet')
  .description('Run programs compiled by hrnetc on a WebGPU adapter: forward, predict, weights')
  .showHelpAfterError('(run with --help for usage)');

const adapterOption = () =>
  new Option(
    '--adapter <kind>',
    'which WebGPU adapter: a hardware GPU if present, else a software Vulkan driver',
  )
    .choices(adapterChoices as string[])
    .default('auto');

program
  .command('forward')
  .description('run the network on a batch: X.safetensors holds `input` (N,3,H,W); writes `output` (N,J,h,w)')
  .argument('<compiled>', 'the folder hrnetc wrote, OUT/<experiment>')
  .requiredOption('--weights <file>', 'weights by official PyTorch names (safetensors)')
  .requiredOption('--input <file>', 'safetensors file with an `input` tensor')
  .requiredOption('-o, --output <file>', 'safetensors file to write the `output` tensor to')
  .addOption(adapterOption())
  .action(
    async (
      compiled: string,
      flags: { weights: string; input: string; output: string; adapter: AdapterChoice },
    ) => {
      const { manifest, forward, kernels } = await loadCompiledProgram(compiled);
      const weights = readSafetensors(flags.weights);
      checkWeights(manifest.parameters, weights);
      const inputs = readSafetensors(flags.input);
      const input = inputs.get('input');
      if (!input)
        throw new UserError(
          `${flags.input} has no tensor named 'input' (it has: ${[...inputs.keys()].join(', ') || 'none'})`,
        );
      const expected = forward.input.shape;
      if (input.shape.length !== 4 || expected.some((d, i) => input.shape[i + 1] !== d)) {
        throw new UserError(
          `input is ${input.shape.join('x')}; this program takes N x ${expected.join(' x ')}`,
        );
      }
      const gpu = await openGpu(flags.adapter);
      const packed = packWeights(manifest.weights.entries, manifest.weights.bytes, weights);
      const runner = await ForwardRunner.create(gpu, forward, kernels, packed, manifest.weights.entries);
      const batch = input.shape[0]!;
      const output = await runner.run(input.data, batch);
      writeSafetensors(flags.output, [['output', { shape: [batch, ...forward.output.shape], data: output }]]);
      process.stderr.write(
        `hrnet: wrote output ${[batch, ...forward.output.shape].join('x')} to ${flags.output} (${gpu.adapterDescription})\n`,
      );
      runner.destroy();
    },
  );

program
  .command('init-weights')
  .description('write the official initial weights (conv ~ N(0, 0.001²), BN γ=1 β=0, mean 0, var 1)')
  .argument('<compiled>', 'the folder hrnetc wrote, OUT/<experiment>')
  .requiredOption('-o, --output <file>', 'safetensors file to write')
  .addOption(new Option('--seed <n>', 'random seed').default('0').argParser((v) => parseSeed(v)))
  .action(async (compiled: string, flags: { output: string; seed: number }) => {
    const { manifest } = await loadCompiledProgram(compiled);
    const weights = officialInitialWeights(manifest.parameters, Number(flags.seed));
    writeSafetensors(flags.output, weights, {
      format: 'pt',
      source: 'hrnet init-weights',
      seed: String(flags.seed),
    });
    process.stderr.write(`hrnet: wrote ${weights.size} tensors to ${flags.output}\n`);
  });

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new InvalidArgumentError('expected an integer from 0 to 4294967295');
  return n;
}

await runProgram(program, process.argv);
