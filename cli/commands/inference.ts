import { basename, extname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { checkOutputDirectory, checkOutputFile, writeFileAtomic } from '../../common/atomic-write.ts';
import { UserError } from '../../common/user-error.ts';
import { predictionPicture } from '../../runtime/chart/prediction-picture.ts';
import { predictSettings, runtimeConfig } from '../../runtime/experiment-settings.ts';
import { type AdapterChoice, openGpu } from '../../runtime/gpu/adapter.ts';
import { DeviceGuard } from '../../runtime/gpu/device-guard.ts';
import { ForwardRunner } from '../../runtime/gpu/forward-runner.ts';
import { readImage } from '../../runtime/image/image.ts';
import { cropFor, type PersonBox, predictCrops } from '../../runtime/predict.ts';
import { predictionJson, predictionRecord } from '../../runtime/prediction-record.ts';
import { loadCompiledProgram, loadManifest } from '../../runtime/program-loader.ts';
import { officialInitialWeights } from '../../runtime/weights/init-weights.ts';
import { checkWeights } from '../../runtime/weights/pack-weights.ts';
import { readWeights } from '../../runtime/weights/read-weights.ts';
import {
  type NamedTensor,
  readSafetensors,
  requireFinite,
  writeSafetensors,
} from '../../runtime/weights/safetensors.ts';
import { noteKernelChoice } from '../kernel-note.ts';
import { adapterOption, parseBox, parseScore, parseSeed } from '../options.ts';
import { kernelProgress } from '../progress.ts';

export function registerInferenceCommands(program: Command): void {
  program
    .command('forward')
    .description(
      'run the network on a batch: X.safetensors holds `input` (N,3,H,W); writes `output` (N,J,h,w)',
    )
    .argument('<compiled>', 'the folder hrnetc wrote, OUT/<experiment>')
    .requiredOption('--weights <file>', 'weights by official PyTorch names (safetensors or PyTorch .pth)')
    .requiredOption('--input <file>', 'safetensors file with an `input` tensor')
    .requiredOption('-o, --output <file>', 'safetensors file to write the `output` tensor to')
    .addOption(adapterOption())
    .action(
      async (
        compiled: string,
        flags: { weights: string; input: string; output: string; adapter: AdapterChoice },
      ) => {
        checkForwardOutput(flags);
        const program = await loadCompiledProgram(compiled);
        const { forward } = program;
        // Both files are read and checked before the GPU is opened, so a bad one fails fast.
        const weights = readWeights(flags.weights);
        checkWeights(program.manifest.parameters, weights, true, flags.weights);
        const input = readForwardInput(flags.input, forward.input.shape);
        const gpu = await openGpu(flags.adapter, { onKernelProgress: kernelProgress() });
        const runner = await ForwardRunner.forCompiled(gpu, program, weights);
        noteKernelChoice(runner.kernelChoice);
        const batch = input.shape[0]!;
        const output = await new DeviceGuard(gpu.device).run('the forward pass', () =>
          runner.run(input.data, batch),
        );
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
    .requiredOption('--weights <file>', 'weights by official PyTorch names (safetensors or PyTorch .pth)')
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
        checkPredictOutputs(flags.output, images);
        const program = await loadCompiledProgram(compiled);
        const settings = predictSettings(runtimeConfig(program.manifest));
        const weights = readWeights(flags.weights);
        checkWeights(program.manifest.parameters, weights, true, flags.weights);
        // EXIF orientation is applied, as cv2.imread does in the official demo: joints and --bbox
        // are in the image as viewers show it.
        const decoded = images.map((path) => ({ path, image: readImage(path, { orientation: 'apply' }) }));
        const gpu = await openGpu(flags.adapter, { onKernelProgress: kernelProgress() });
        const runner = await ForwardRunner.forCompiled(gpu, program, weights);
        noteKernelChoice(runner.kernelChoice);
        const crops = decoded.map(({ image }) => ({ image, ...cropFor(image, flags.bbox, settings) }));
        const predictions = await new DeviceGuard(gpu.device).run('the forward pass', () =>
          predictCrops(runner, crops, settings),
        );
        runner.destroy();
        decoded.forEach(({ path, image }, i) => {
          const prediction = predictions[i]!;
          const stem = join(flags.output, basename(path, extname(path)));
          const record = predictionRecord(
            { name: path, width: image.width, height: image.height },
            program.manifest.experiment,
            settings,
            prediction,
          );
          writeFileAtomic(`${stem}.json`, predictionJson(record));
          const picture = predictionPicture(image, prediction.joints, settings.joints, {
            threshold: flags.threshold,
            title: basename(path),
          });
          writeFileAtomic(`${stem}.png`, picture.png);
          writeFileAtomic(`${stem}.svg`, picture.svg);
          process.stderr.write(`hrnet: ${path} → ${stem}.json, ${stem}.png, ${stem}.svg\n`);
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
      checkOutputFile(flags.output);
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

/** The `input` tensor of a forward input file: N images of the program's shape, all finite. */
function readForwardInput(path: string, perImage: readonly number[]): NamedTensor {
  const inputs = readSafetensors(path);
  const input = inputs.get('input');
  if (!input) {
    const names = [...inputs.keys()];
    throw new UserError(
      `${path}: has no tensor named 'input' (it has: ${names.slice(0, 5).join(', ') || 'none'}${names.length > 5 ? ', …' : ''})`,
    );
  }
  if (input.shape.length !== 4 || perImage.some((d, i) => input.shape[i + 1] !== d)) {
    throw new UserError(
      `${path}: input is ${input.shape.join('x') || 'a scalar'}; this program takes N x ${perImage.join(' x ')}`,
    );
  }
  if (input.shape[0] === 0) throw new UserError(`${path}: input holds no images (N is 0)`);
  requireFinite(path, 'input', input);
  return input;
}

/**
 * Before any work: -o must be writable, and must not be one of the command's own inputs (the result
 * would replace them).
 */
function checkForwardOutput(flags: { weights: string; input: string; output: string }): void {
  for (const [flag, path] of [
    ['--input', flags.input],
    ['--weights', flags.weights],
  ] as const) {
    if (resolve(flags.output) === resolve(path))
      throw new UserError(`-o ${flags.output} is also the ${flag} file; write the output elsewhere`);
  }
  checkOutputFile(flags.output);
}

/**
 * Before any work: -o DIR must be a folder that can be written (or made), and no two images may write
 * the same DIR/<name>.json and .png (the second would replace the first's results).
 */
function checkPredictOutputs(dir: string, images: readonly string[]): void {
  checkOutputDirectory(dir);
  const byStem = new Map<string, string>();
  for (const image of images) {
    const stem = basename(image, extname(image));
    const other = byStem.get(stem);
    if (other !== undefined && resolve(other) !== resolve(image))
      throw new UserError(
        `${other} and ${image} would both write ${join(dir, stem)}.json and .png; predict them into different -o folders`,
      );
    byStem.set(stem, image);
  }
}
