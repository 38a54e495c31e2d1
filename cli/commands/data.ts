import { type Command, Option } from 'commander';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import { UserError } from '../../common/user-error.ts';
import { detectFormat, loadDataset } from '../../runtime/data/dataset.ts';
import { writeSyntheticDataset } from '../../runtime/data/synthetic/write-dataset.ts';
import { drawSample } from '../../runtime/image/debug-pictures.ts';
import { encodePng, readImage } from '../../runtime/image/image.ts';
import { parseCount, parseSeed, parseSize } from '../options.ts';
import { progressBar } from '../progress.ts';

export function registerDataCommands(program: Command): void {
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
}
