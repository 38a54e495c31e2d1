import { basename, extname, join } from 'node:path';
import { type Command, Option } from 'commander';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import { UserError } from '../../common/user-error.ts';
import { predictSettings, runtimeConfig } from '../../runtime/experiment-settings.ts';
import { type AdapterChoice, openGpu } from '../../runtime/gpu/adapter.ts';
import { ForwardRunner } from '../../runtime/gpu/forward-runner.ts';
import { copyImage, drawSkeleton } from '../../runtime/image/draw.ts';
import { encodePng, readImage } from '../../runtime/image/image.ts';
import { cropFor, type PersonBox, predictCrops } from '../../runtime/predict.ts';
import { loadCompiledProgram, loadManifest } from '../../runtime/program-loader.ts';
import { officialInitialWeights } from '../../runtime/weights/init-weights.ts';
import { readSafetensors, writeSafetensors } from '../../runtime/weights/safetensors.ts';
import { adapterOption, parseBox, parseScore, parseSeed } from '../options.ts';

export function registerInferenceCommands(program: Command): void {
  program
    .command('forward')
    .description(
      'run the network on a batch: X.safetensors holds `input` (N,3,H,W); writes `output` (N,J,h,w)',
    )
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
        const program = await loadCompiledProgram(compiled);
        const { forward } = program;
        // The weights are checked (as the runner is made) before the input is read.
        const gpu = await openGpu(flags.adapter);
        const runner = await ForwardRunner.forCompiled(gpu, program, readSafetensors(flags.weights));
        const inputs = readSafetensors(flags.input);
        const input = inputs.get('input');
        if (!input)
          throw new UserError(
            `${flags.input} has no tensor named 'input' (it has: ${[...inputs.keys()].slice(0, 5).join(', ') || 'none'}${inputs.size > 5 ? ', …' : ''})`,
          );
        const expected = forward.input.shape;
        if (input.shape.length !== 4 || expected.some((d, i) => input.shape[i + 1] !== d)) {
          throw new UserError(
            `input is ${input.shape.join('x')}; this program takes N x ${expected.join(' x ')}`,
          );
        }
        const batch = input.shape[0]!;
        const output = await runner.run(input.data, batch);
        writeSafetensors(flags.output, [
          ['output', { shape: [batch, ...forward.output.shape], data: output }],
        ]);
        process.stderr.write(
          `hrnet: wrote output ${[batch, ...forward.output.shape].join('x')} to ${flags.output} (${gpu.adapterDescription})\n`,
        );
        runner.destroy();
      },
    );

  program
    .command('predict')
    .description(
      'predict joints on JPEG/PNG images; writes DIR/<image>.json and DIR/<image>.png (skeleton drawn)',
    )
    .argument('<compiled>', 'the folder hrnetc wrote, OUT/<experiment>')
    .argument('<images...>', 'JPEG or PNG files')
    .requiredOption('--weights <file>', 'weights by official PyTorch names (safetensors)')
    .option('--bbox <x,y,w,h>', 'the person box in every image (default: the whole image)', parseBox)
    .addOption(
      new Option('--threshold <score>', 'draw joints whose score is at least this')
        .default(0.2)
        .argParser(parseScore),
    )
    .requiredOption('-o, --output <dir>', 'folder for the .json and .png results')
    .addOption(adapterOption())
    .action(
      async (
        compiled: string,
        images: string[],
        flags: {
          weights: string;
          bbox?: PersonBox;
          threshold: number;
          output: string;
          adapter: AdapterChoice;
        },
      ) => {
        const program = await loadCompiledProgram(compiled);
        const settings = predictSettings(runtimeConfig(program.manifest));
        const weights = readSafetensors(flags.weights);
        const decoded = images.map((path) => ({ path, image: readImage(path) }));
        const gpu = await openGpu(flags.adapter);
        const runner = await ForwardRunner.forCompiled(gpu, program, weights);
        const crops = decoded.map(({ image }) => ({ image, ...cropFor(image, flags.bbox, settings) }));
        const predictions = await predictCrops(runner, crops, settings);
        runner.destroy();
        decoded.forEach(({ path, image }, i) => {
          const prediction = predictions[i]!;
          const stem = join(flags.output, basename(path, extname(path)));
          const result = {
            image: path,
            width: image.width,
            height: image.height,
            experiment: program.manifest.experiment,
            dataset: settings.joints.dataset,
            center: prediction.center,
            scale: prediction.scale,
            joints: prediction.joints.map((j, k) => ({
              name: settings.joints.names[k],
              x: j.x,
              y: j.y,
              score: j.score,
            })),
          };
          writeFileAtomic(`${stem}.json`, `${JSON.stringify(result, null, 1)}\n`);
          const picture = copyImage(image);
          drawSkeleton(
            picture,
            prediction.joints.map((j) => ({ x: j.x, y: j.y, visible: j.score >= flags.threshold })),
            settings.joints,
          );
          writeFileAtomic(`${stem}.png`, encodePng(picture));
          process.stderr.write(`hrnet: ${path} → ${stem}.json, ${stem}.png\n`);
        });
      },
    );

  program
    .command('init-weights')
    .description('write the official initial weights (conv ~ N(0, 0.001²), BN γ=1 β=0, mean 0, var 1)')
    .argument('<compiled>', 'the folder hrnetc wrote, OUT/<experiment>')
    .requiredOption('-o, --output <file>', 'safetensors file to write')
    .addOption(new Option('--seed <n>', 'random seed').default('0').argParser((v) => parseSeed(v)))
    .action(async (compiled: string, flags: { output: string; seed: number }) => {
      const manifest = loadManifest(compiled);
      const weights = officialInitialWeights(manifest.parameters, Number(flags.seed));
      writeSafetensors(flags.output, weights, {
        format: 'pt',
        source: 'hrnet init-weights',
        seed: String(flags.seed),
      });
      process.stderr.write(`hrnet: wrote ${weights.size} tensors to ${flags.output}\n`);
    });
}
