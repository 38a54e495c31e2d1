import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import { UserError } from '../../common/user-error.ts';
import { cocoAnnotationFile, loadCocoGroundTruth } from '../../runtime/data/coco.ts';
import { detectFormat, loadDataset } from '../../runtime/data/dataset.ts';
import { loadMpiiGroundTruth } from '../../runtime/data/mpii.ts';
import { type CocoResult, cocoKeypointEval } from '../../runtime/eval/coco-eval.ts';
import { cocoResults } from '../../runtime/eval/coco-results.ts';
import { type MpiiGroundTruth, mpiiPckh } from '../../runtime/eval/mpii-pckh.ts';
import { loadCocoResults, loadMpiiPredictions } from '../../runtime/eval/result-files.ts';
import { datasetSettings, type RuntimeConfig, validateSettings } from '../../runtime/experiment-settings.ts';
import { type AdapterChoice, openGpu } from '../../runtime/gpu/adapter.ts';
import { ForwardRunner } from '../../runtime/gpu/forward-runner.ts';
import { loadCompiledProgram } from '../../runtime/program-loader.ts';
import { checkpointFiles } from '../../runtime/train/checkpoint.ts';
import { predictDataset } from '../../runtime/validate.ts';
import { readWeights } from '../../runtime/weights/read-weights.ts';
import { compiledConfig } from '../compiled-config.ts';
import { debugWriter } from '../debug-output.ts';
import { noteKernelChoice } from '../kernel-note.ts';
import { adapterOption } from '../options.ts';
import { kernelProgress, progressBar } from '../progress.ts';

/** The official _print_name_value table (three decimals), or one JSON object (NaN → null). */
function printMetrics(values: Record<string, number>, arch: string, json: boolean): void {
  if (json) {
    process.stdout.write(
      `${JSON.stringify(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Number.isFinite(v) ? v : null])))}\n`,
    );
    return;
  }
  const names = Object.keys(values);
  const name = arch.length > 15 ? `${arch.slice(0, 8)}...` : arch;
  process.stdout.write(`| Arch ${names.map((n) => `| ${n}`).join(' ')} |\n`);
  process.stdout.write(`${'|---'.repeat(names.length + 1)}|\n`);
  process.stdout.write(
    `| ${name} ${Object.values(values)
      .map((v) => `| ${Number.isFinite(v) ? v.toFixed(3) : 'nan'}`)
      .join(' ')} |\n`,
  );
}

function evaluateCoco(gtPath: string, results: readonly CocoResult[]): Record<string, number> {
  if (results.length === 0)
    throw new UserError('the results hold no detections; there is nothing to evaluate');
  return cocoKeypointEval(loadCocoGroundTruth(gtPath), results);
}

/** MPII ground truth next to the annotations: annot/gt_<set>.json, else the official .mat. */
function mpiiGroundTruthPath(root: string, set: string): string {
  const json = join(root, 'annot', `gt_${set}.json`);
  const mat = join(root, 'annot', `gt_${set}.mat`);
  if (existsSync(json)) return json;
  if (existsSync(mat)) return mat;
  throw new UserError(
    `${join(root, 'annot')}: no MPII ground truth for '${set}': expected gt_${set}.json or gt_${set}.mat`,
  );
}

/** The split's MPII ground truth, which must hold one entry per annotation of annot/<set>.json. */
function mpiiGroundTruthFor(root: string, set: string, annotations: number): MpiiGroundTruth {
  const path = mpiiGroundTruthPath(root, set);
  const gt = loadMpiiGroundTruth(path);
  if (gt.joints.length !== annotations)
    throw new UserError(
      `${path}: holds ${gt.joints.length} annotations but ${join(root, 'annot', `${set}.json`)} holds ${annotations}; they must be the same people in the same order`,
    );
  return gt;
}

export function registerEvaluationCommands(program: Command): void {
  program
    .command('evaluate')
    .description('evaluate predictions as the official code does: COCO keypoint AP/AR or MPII PCKh')
    .addOption(new Option('--dataset <name>', 'dataset').choices(['coco', 'mpii']).makeOptionMandatory())
    .requiredOption(
      '--gt <file>',
      'COCO person_keypoints JSON, or MPII ground truth (JSON, or the official gt_valid.mat)',
    )
    .option('--results <file>', 'COCO results JSON: [{image_id, category_id, keypoints[51], score}]')
    .option('--preds <file>', 'MPII predictions JSON: {"preds": [[[x, y] × 16] per annotation]}, 0-based')
    .option('--json', 'print one JSON object instead of the table')
    .action(
      (flags: { dataset: 'coco' | 'mpii'; gt: string; results?: string; preds?: string; json?: boolean }) => {
        if (flags.dataset === 'coco') {
          if (!flags.results) throw new UserError('--dataset coco needs --results');
          const gt = loadCocoGroundTruth(flags.gt);
          const results = loadCocoResults(flags.results, gt, flags.gt);
          printMetrics(cocoKeypointEval(gt, results), 'results', Boolean(flags.json));
        } else {
          if (!flags.preds) throw new UserError('--dataset mpii needs --preds');
          const gt = loadMpiiGroundTruth(flags.gt);
          printMetrics(
            mpiiPckh(loadMpiiPredictions(flags.preds, gt, flags.gt), gt),
            'preds',
            Boolean(flags.json),
          );
        }
      },
    );

  program
    .command('test')
    .description(
      'run the model on the test split (flip test, post-processing) and evaluate it; writes results in the official formats',
    )
    .argument('<compiled>', 'the folder hrnetc wrote, OUT/<experiment>')
    .argument('[overrides...]', 'KEY VALUE pairs (runtime settings such as TEST.FLIP_TEST False)')
    .option(
      '--weights <file>',
      "weights by official PyTorch names, safetensors or PyTorch .pth (default, as official test.py: TEST.MODEL_FILE, else final_state.safetensors in the experiment's output folder)",
    )
    .option('--data <dir>', 'dataset folder (default: DATASET.ROOT)')
    .option(
      '-o, --output <dir>',
      'results folder (default: OUTPUT_DIR/<dataset>/<model>/<experiment>/results)',
    )
    .option('--json', 'print one JSON object instead of the table')
    .addOption(adapterOption())
    .action(
      async (
        compiled: string,
        overrides: string[],
        flags: { weights?: string; data?: string; output?: string; json?: boolean; adapter: AdapterChoice },
      ) => {
        const program = await loadCompiledProgram(compiled);
        const { manifest } = program;
        const config = compiledConfig(compiled, manifest, overrides);
        const c = config as RuntimeConfig & {
          OUTPUT_DIR: string;
          GPUS: number[];
          WORKERS: number;
          DATASET: { ROOT: string; TEST_SET: string };
          DEBUG: { DEBUG: boolean };
          TEST: {
            BATCH_SIZE_PER_GPU: number;
            USE_GT_BBOX: boolean;
            COCO_BBOX_FILE: string;
            IMAGE_THRE: number;
            IN_VIS_THRE: number;
            OKS_THRE: number;
            SOFT_NMS: boolean;
            MODEL_FILE: string;
          };
        };
        const experimentOutput = join(c.OUTPUT_DIR, c.DATASET.DATASET, c.MODEL.NAME, manifest.experiment);
        const weightsPath =
          flags.weights ?? (c.TEST.MODEL_FILE || join(experimentOutput, checkpointFiles.final));
        if (flags.weights === undefined)
          process.stderr.write(
            `hrnet: testing the weights in ${weightsPath} (${c.TEST.MODEL_FILE ? 'TEST.MODEL_FILE' : 'the trained model; TEST.MODEL_FILE is empty'})\n`,
          );
        const weights = readWeights(weightsPath);
        const root = resolve(flags.data ?? c.DATASET.ROOT);
        const format = detectFormat(root);
        if (format !== c.DATASET.DATASET)
          throw new UserError(
            `${root} holds ${format} data but the experiment's DATASET.DATASET is ${c.DATASET.DATASET}`,
          );
        const settings = datasetSettings(config);
        const { samples } = loadDataset({
          format,
          root,
          imageSet: c.DATASET.TEST_SET,
          aspectRatio: settings.augmentation.aspectRatio,
          ...(format === 'coco' && !c.TEST.USE_GT_BBOX
            ? { detections: { file: c.TEST.COCO_BBOX_FILE, imageThreshold: c.TEST.IMAGE_THRE } }
            : {}),
        });
        // MPII's ground truth is read (and checked against the annotations) before the model runs.
        const mpiiGt =
          format === 'mpii' ? mpiiGroundTruthFor(root, c.DATASET.TEST_SET, samples.length) : undefined;
        const gpu = await openGpu(flags.adapter, { onKernelProgress: kernelProgress() });
        const runner = await ForwardRunner.forCompiled(gpu, program, weights);
        noteKernelChoice(runner.kernelChoice);
        const outDir = flags.output ?? join(experimentOutput, 'results');
        const bar = progressBar('test', samples.length);
        const predictions = await predictDataset(
          runner,
          samples,
          {
            ...validateSettings(config),
            ...(c.DEBUG.DEBUG ? { onBatchHeatmaps: debugWriter(config, join(outDir, '..'), 'val') } : {}),
          },
          (done) => bar.update(done),
        );
        bar.stop();
        runner.destroy();
        let metrics: Record<string, number>;
        if (format === 'coco') {
          const results = cocoResults(predictions, {
            inVisThreshold: c.TEST.IN_VIS_THRE,
            oksThreshold: c.TEST.OKS_THRE,
            softNms: c.TEST.SOFT_NMS,
          });
          const resultsPath = join(outDir, `keypoints_${c.DATASET.TEST_SET}_results_0.json`);
          writeFileAtomic(resultsPath, JSON.stringify(results, null, 1));
          process.stderr.write(`hrnet: wrote ${results.length} results to ${resultsPath}\n`);
          metrics = evaluateCoco(cocoAnnotationFile(root, c.DATASET.TEST_SET), results);
        } else {
          const preds = predictions.map((p) => p.joints.map((j) => [j.x, j.y]));
          const predsPath = join(outDir, 'pred.json');
          writeFileAtomic(predsPath, JSON.stringify({ preds }));
          process.stderr.write(`hrnet: wrote ${preds.length} predictions to ${predsPath}\n`);
          metrics = mpiiPckh(preds as [number, number][][], mpiiGt!);
        }
        printMetrics(metrics, c.MODEL.NAME, Boolean(flags.json));
      },
    );
}
