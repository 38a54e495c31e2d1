import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileTestExperiment } from '../helpers/compile.ts';
import { runCli } from './run-cli.ts';

const work = mkdtempSync(join(tmpdir(), 'hrnet-data-cli-'));

describe('hrnet synth, show, evaluate and test', () => {
  it('synth writes a dataset and show draws a sample', () => {
    const data = join(work, 'mpii');
    const synth = runCli('hrnet', [
      'synth',
      '--format',
      'mpii',
      '-n',
      '6',
      '--val',
      '4',
      '--size',
      '96x96',
      '-o',
      data,
    ]);
    expect(synth.status, synth.stderr).toBe(0);
    expect(existsSync(join(data, 'annot', 'gt_valid.json'))).toBe(true);
    const show = runCli('hrnet', ['show', data, '--index', '1', '-o', join(work, 'sample.png')]);
    expect(show.status, show.stderr).toBe(0);
    expect(readFileSync(join(work, 'sample.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(runCli('hrnet', ['show', data, '--index', '99', '-o', join(work, 'x.png')]).stderr).toContain(
      'has 6 samples',
    );
    expect(runCli('hrnet', ['synth', '--format', 'voc', '-n', '1', '-o', data]).status).toBe(2);
  });

  it('evaluate prints the official table, or JSON with the documented keys', () => {
    const coco = runCli('hrnet', [
      'evaluate',
      '--dataset',
      'coco',
      '--gt',
      'test/fixtures/eval/coco_gt.json',
      '--results',
      'test/fixtures/eval/coco_results.json',
      '--json',
    ]);
    expect(coco.status, coco.stderr).toBe(0);
    expect(Object.keys(JSON.parse(coco.stdout))).toEqual([
      'AP',
      'AP50',
      'AP75',
      'APm',
      'APl',
      'AR',
      'AR50',
      'AR75',
      'ARm',
      'ARl',
    ]);
    const mpii = runCli('hrnet', [
      'evaluate',
      '--dataset',
      'mpii',
      '--gt',
      'test/fixtures/eval/mpii_gt_valid.json',
      '--preds',
      'test/fixtures/eval/mpii_preds.json',
    ]);
    expect(mpii.status, mpii.stderr).toBe(0);
    expect(mpii.stdout.split('\n')[0]).toBe(
      '| Arch | Head | Shoulder | Elbow | Wrist | Hip | Knee | Ankle | Mean | Mean@0.1 |',
    );
    const wrong = runCli('hrnet', [
      'evaluate',
      '--dataset',
      'coco',
      '--gt',
      'test/fixtures/eval/coco_gt.json',
      '--results',
      'test/fixtures/eval/mpii_preds.json',
    ]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('must hold a list of results');
  });

  it('test runs the model over the test split and writes official results', async () => {
    const compiled = await compileTestExperiment('tiny/w8_96x64.yaml');
    const weights = join(work, 'w.safetensors');
    expect(runCli('hrnet', ['init-weights', compiled, '-o', weights]).status).toBe(0);
    const data = join(work, 'coco');
    expect(
      runCli('hrnet', ['synth', '--format', 'coco', '-n', '2', '--val', '5', '--size', '128x96', '-o', data])
        .status,
    ).toBe(0);
    const out = join(work, 'results');
    const result = runCli('hrnet', [
      'test',
      compiled,
      '--weights',
      weights,
      '--data',
      data,
      '-o',
      out,
      '--json',
      'TEST.BATCH_SIZE_PER_GPU',
      '3',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(Object.keys(JSON.parse(result.stdout))).toContain('AP');
    const results = JSON.parse(readFileSync(join(out, 'keypoints_val_results_0.json'), 'utf8')) as {
      keypoints: number[];
      center: number[];
    }[];
    expect(results.length).toBeGreaterThan(0);
    expect(results[0]!.keypoints).toHaveLength(51);
    // Without --weights, TEST.MODEL_FILE, as official test.py; here the official model's own .pth.
    const official = 'test/fixtures/pth/official_w8_96x64_half.pth';
    const fromModelFile = runCli('hrnet', [
      'test',
      compiled,
      '--data',
      data,
      '-o',
      join(work, 'results-pth'),
      '--json',
      'TEST.MODEL_FILE',
      official,
    ]);
    expect(fromModelFile.status, fromModelFile.stderr).toBe(0);
    expect(fromModelFile.stderr).toContain(`hrnet: testing the weights in ${official} (TEST.MODEL_FILE)`);
    const resultsOf = (dir: string) =>
      JSON.parse(readFileSync(join(dir, 'keypoints_val_results_0.json'), 'utf8')) as {
        keypoints: number[];
      }[];
    expect(resultsOf(join(work, 'results-pth'))[0]!.keypoints).not.toEqual(results[0]!.keypoints);
    const noTrainedModel = runCli('hrnet', [
      'test',
      compiled,
      '--data',
      data,
      'OUTPUT_DIR',
      join(work, 'nothing'),
    ]);
    expect(noTrainedModel.status).toBe(1);
    expect(noTrainedModel.stderr).toContain(
      join(work, 'nothing', 'coco', 'pose_hrnet', 'w8_96x64', 'final_state.safetensors'),
    );
    const model = runCli('hrnet', [
      'test',
      compiled,
      '--weights',
      weights,
      '--data',
      data,
      'MODEL.SIGMA',
      '3',
    ]);
    expect(model.status).toBe(1);
    expect(model.stderr).toContain('recompile');
  });
});
