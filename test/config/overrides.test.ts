import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dumpConfig } from '../../compiler/config/dump-config.ts';
import { loadExperiment } from '../../compiler/config/load-experiment.ts';
import type { Diagnostic } from '../../compiler/diagnostics/diagnostic.ts';
import { lineColumnAt } from '../../compiler/diagnostics/source-text.ts';

const experiment = new URL('../../experiments/coco/w32_256x192.yaml', import.meta.url).pathname;

function withOverrides(...overrides: string[]) {
  return loadExperiment(experiment, { overrides });
}

function config(...overrides: string[]) {
  const result = withOverrides(...overrides);
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
  return result.experiment.config;
}

function problems(...overrides: string[]) {
  const result = withOverrides(...overrides);
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.diagnostics.map(describeDiagnostic);
}

function describeDiagnostic(d: Diagnostic) {
  const at = d.span ? lineColumnAt(d.span.source, d.span.start) : undefined;
  return {
    code: d.code,
    where: d.span ? `${d.span.source.name}:${at!.line}:${at!.column}` : '',
    message: d.message,
  };
}

describe('command-line overrides (yacs merge_from_list)', () => {
  it('parses values as Python literals with the default type', () => {
    const c = config(
      'TRAIN.LR',
      '0.01',
      'GPUS',
      '(0,1)',
      'TEST.FLIP_TEST',
      'False',
      'MODEL.IMAGE_SIZE',
      '[288, 384]',
      'MODEL.HEATMAP_SIZE',
      '[72, 96]',
    );
    expect(c.TRAIN.LR).toBe(0.01);
    expect(c.GPUS).toEqual([0, 1]);
    expect(c.TEST.FLIP_TEST).toBe(false);
    expect(c.MODEL.IMAGE_SIZE).toEqual([288, 384]);
  });

  it('keeps non-literal strings as strings, and coerces list to tuple', () => {
    const c = config('DATASET.ROOT', 'data/other/', 'OUTPUT_DIR', 'runs', 'GPUS', '[2]');
    expect(c.DATASET.ROOT).toBe('data/other/');
    expect(c.OUTPUT_DIR).toBe('runs');
    expect(c.GPUS).toEqual([2]);
  });

  it('accepts negative numbers and reaches into MODEL.EXTRA keys that exist', () => {
    const c = config('DATASET.PROB_HALF_BODY', '-1.0', 'MODEL.EXTRA.FINAL_CONV_KERNEL', '3');
    expect(c.DATASET.PROB_HALF_BODY).toBe(-1);
    if (c.MODEL.NAME === 'pose_hrnet') expect(c.MODEL.EXTRA.FINAL_CONV_KERNEL).toBe(3);
  });

  it('the last of repeated keys wins', () => {
    expect(config('TRAIN.LR', '0.1', 'TRAIN.LR', '0.2').TRAIN.LR).toBe(0.2);
  });

  it('rejects unknown keys, even under MODEL.EXTRA, pointing at the bad component', () => {
    expect(problems('TRAIN.LRR', '0.1')).toEqual([
      { code: 'E201', where: '<arg 1>:1:7', message: 'unknown config key TRAIN.LRR' },
    ]);
    expect(problems('MODEL.EXTRA.NEW_KEY', '1')[0]).toMatchObject({ code: 'E201', where: '<arg 1>:1:13' });
  });

  it('rejects a type that differs from the default, naming the argument', () => {
    expect(problems('TRAIN.LR', 'abc')).toEqual([
      {
        code: 'E202',
        where: '<arg 2>:1:1',
        message: "TRAIN.LR must be a float like its default 0.001, but got str 'abc'",
      },
    ]);
    expect(problems('TRAIN.END_EPOCH', '1.5')[0]).toMatchObject({ code: 'E202', where: '<arg 2>:1:1' });
    expect(problems('TRAIN', '3')[0]).toMatchObject({ code: 'E202' });
  });

  it('rejects an odd-length list and a value path through a leaf', () => {
    expect(problems('TRAIN.LR')[0]).toMatchObject({ code: 'E203', where: '<arg 1>:1:1' });
    expect(problems('TRAIN.LR.X', '1')[0]).toMatchObject({ code: 'E201', where: '<arg 1>:1:7' });
  });

  it('locates schema and semantic errors caused by an override in the argument', () => {
    expect(problems('MODEL.NUM_JOINTS', '0')[0]).toMatchObject({ code: 'E301', where: '<arg 2>:1:1' });
    expect(problems('MODEL.IMAGE_SIZE', '[192, 250]')).toContainEqual(
      expect.objectContaining({ code: 'E402', where: '<arg 2>:1:7' }),
    );
    expect(problems('TRAIN.LR_STEP', '[200, 170]')).toContainEqual(
      expect.objectContaining({ code: 'E405', where: '<arg 2>:1:7' }),
    );
  });

  it('MODEL.NAME given as an override decides which EXTRA keys the file must set', () => {
    // The file's EXTRA is HRNet's; pose_resnet reads keys it does not have, and no default fills them.
    const found = problems('MODEL.NAME', 'pose_resnet');
    const note =
      'MODEL.EXTRA has no defaults: the official update_config takes it from the experiment file alone (lib/config/models.py is never merged), so the official model code fails where it reads this key';
    expect(found).toEqual([
      ...[
        'NUM_LAYERS',
        'DECONV_WITH_BIAS',
        'NUM_DECONV_LAYERS',
        'NUM_DECONV_FILTERS',
        'NUM_DECONV_KERNELS',
      ].map((key) => ({
        code: 'E304',
        where: `${experiment}:38:3`,
        message: `missing key MODEL.EXTRA.${key}: pose_resnet reads it`,
      })),
      ...[
        ['STAGE2', 52],
        ['STAGE3', 63],
        ['STAGE4', 76],
      ].map(([key, line]) => ({
        code: 'W001',
        where: `${experiment}:${line}:5`,
        message: `MODEL.EXTRA.${key} is not used by pose_resnet and is ignored`,
      })),
    ]);
    const result = withOverrides('MODEL.NAME', 'pose_resnet');
    expect(result.ok ? [] : result.diagnostics[0]!.notes).toEqual([note]);
  });

  it('cannot add an EXTRA key the file does not set, as merge_from_list cannot', () => {
    const missingStage3 = new URL('../fixtures/config/missing-stage3.yaml', import.meta.url).pathname;
    const result = loadExperiment(missingStage3, { overrides: ['MODEL.EXTRA.STAGE3.NUM_MODULES', '4'] });
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.diagnostics.map(describeDiagnostic)).toEqual([
      { code: 'E201', where: '<arg 1>:1:13', message: 'unknown config key MODEL.EXTRA.STAGE3' },
      {
        code: 'E304',
        where: `${missingStage3}:6:3`,
        message: 'missing key MODEL.EXTRA.STAGE3: pose_hrnet reads it',
      },
    ]);
    // STEM_INPLANES has a models.py default that the official config never holds.
    expect(problems('MODEL.EXTRA.STEM_INPLANES', '32')).toEqual([
      { code: 'E201', where: '<arg 1>:1:13', message: 'unknown config key MODEL.EXTRA.STEM_INPLANES' },
    ]);
    const rejected = withOverrides('MODEL.EXTRA.STEM_INPLANES', '32');
    expect(rejected.ok ? [] : rejected.diagnostics[0]!.notes).toEqual([
      'the experiment file does not set MODEL.EXTRA.STEM_INPLANES, and MODEL.EXTRA has no defaults: an override can only replace a key the file sets (yacs merge_from_list)',
    ]);
  });

  it('a resolved dump sets every EXTRA key, so overrides reach them all', () => {
    const loaded = withOverrides();
    if (!loaded.ok) throw new Error('w32_256x192 must load');
    const dump = join(mkdtempSync(join(tmpdir(), 'hrnetc-dump-')), 'config.yaml');
    writeFileSync(dump, dumpConfig(loaded.experiment.tree));
    const result = loadExperiment(dump, {
      resolved: true,
      overrides: ['MODEL.EXTRA.STEM_INPLANES', '64', 'MODEL.EXTRA.STAGE3.NUM_MODULES', '2'],
    });
    expect(result.ok && result.experiment.config.MODEL.EXTRA).toMatchObject({
      STEM_INPLANES: 64,
      STAGE3: { NUM_MODULES: 2 },
    });
  });
});
