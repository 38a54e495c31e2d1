import { basename, extname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { UserError } from '../common/user-error.ts';
import { detectFormat, loadDataset } from '../runtime/data/dataset.ts';
import { writeSyntheticDataset } from '../runtime/data/synthetic/write-dataset.ts';
import { predictSettings, runtimeConfig } from '../runtime/experiment-settings.ts';
import { type AdapterChoice, adapterChoices, openGpu } from '../runtime/gpu/adapter.ts';
import { ForwardRunner } from '../runtime/gpu/forward-runner.ts';
import { drawSample } from '../runtime/image/debug-pictures.ts';
import { copyImage, drawSkeleton } from '../runtime/image/draw.ts';
import { encodePng, readImage } from '../runtime/image/image.ts';
import { cropFor, type PersonBox, predictCrops } from '../runtime/predict.ts';
import { loadCompiledProgram, loadManifest } from '../runtime/program-loader.ts';
import { officialInitialWeights } from '../runtime/weights/init-weights.ts';
import { checkWeights, packWeights } from '../runtime/weights/pack-weights.ts';
import { readSafetensors, writeSafetensors } from '../runtime/weights/safetensors.ts';
import { progressBar } from './progress.ts';
import { runProgram } from './run-program.ts';

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
          `${flags.input} has no tensor named 'input' (it has: ${[...inputs.keys()].slice(0, 5).join(', ') || 'none'}${inputs.size > 5 ? ', …' : ''})`,
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
      flags: { weights: string; bbox?: PersonBox; threshold: number; output: string; adapter: AdapterChoice },
    ) => {
      const { manifest, forward, kernels } = await loadCompiledProgram(compiled);
      const settings = predictSettings(runtimeConfig(manifest));
      const weights = readSafetensors(flags.weights);
      checkWeights(manifest.parameters, weights);
      const decoded = images.map((path) => ({ path, image: readImage(path) }));
      const gpu = await openGpu(flags.adapter);
      const runner = await ForwardRunner.create(
        gpu,
        forward,
        kernels,
        packWeights(manifest.weights.entries, manifest.weights.bytes, weights),
        manifest.weights.entries,
      );
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
          experiment: manifest.experiment,
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
  .command('synth')
  .description('write a synthetic dataset of human-like figures in the official MPII or COCO layout')
  .addOption(
    new Option('--format <format>', 'dataset layout').choices(['mpii', 'coco']).makeOptionMandatory(),
  )
  .requiredOption('-n, --count <n>', 'training images', parseCount)
  .option('--val <n>', 'validation images (default: a quarter of -n, at least 8)', parseCount)
  .addOption(new Option('--seed <n>', 'random seed').default(0).argParser(parseSeed))
  .addOption(new Option('--size <WxH>', 'image size').default([128, 128]).argParser(parseSize))
  .requiredOption('-o, --output <dir>', 'dataset folder')
  .action(
    (flags: {
      format: 'mpii' | 'coco';
      count: number;
      val?: number;
      seed: number;
      size: [number, number];
      output: string;
    }) => {
      const validation = flags.val ?? Math.max(8, Math.round(flags.count / 4));
      const bar = progressBar('synth', flags.count + validation);
      const result = writeSyntheticDataset({
        format: flags.format,
        train: flags.count,
        validation,
        seed: flags.seed,
        size: flags.size,
        out: flags.output,
        onImage: (done) => bar.update(done),
      });
      bar.stop();
      process.stderr.write(
        `hrnet: wrote ${result.images} images and ${result.annotations} annotations (${flags.format}) to ${flags.output}\n`,
      );
    },
  );

program
  .command('show')
  .description('draw one annotated sample of a dataset (the image, its joints and its crop box)')
  .argument('<data>', 'dataset folder (MPII or COCO layout)')
  .requiredOption('--index <k>', 'sample number', parseCount)
  .option('--set <name>', 'split (default: train)', 'train')
  .requiredOption('-o, --output <file>', 'PNG to write')
  .action((data: string, flags: { index: number; set: string; output: string }) => {
    const format = detectFormat(data);
    const { samples, joints } = loadDataset({ format, root: data, imageSet: flags.set, aspectRatio: 0.75 });
    const sample = samples[flags.index];
    if (!sample)
      throw new UserError(`--index ${flags.index}: the ${flags.set} split has ${samples.length} samples`);
    writeFileAtomic(flags.output, encodePng(drawSample(readImage(sample.image), sample, joints)));
    process.stderr.write(
      `hrnet: sample ${flags.index} of ${flags.set} (${sample.image}) → ${flags.output}\n`,
    );
  });

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

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

function parseSize(value: string): [number, number] {
  const match = /^(\d+)x(\d+)$/.exec(value);
  if (!match || Number(match[1]) < 16 || Number(match[2]) < 16)
    throw new InvalidArgumentError('expected WIDTHxHEIGHT, each at least 16');
  return [Number(match[1]), Number(match[2])];
}

function parseBox(value: string): PersonBox {
  const parts = value.split(',').map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n)) || parts[2]! <= 0 || parts[3]! <= 0) {
    throw new InvalidArgumentError('expected x,y,w,h with a positive width and height');
  }
  return { x: parts[0]!, y: parts[1]!, width: parts[2]!, height: parts[3]! };
}

function parseScore(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new InvalidArgumentError('expected an integer from 0 to 4294967295');
  return n;
}

await runProgram(program, process.argv);
