import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileTimeKeys } from '../../compiler/config/compile-time-keys.ts';
import { compileTestExperiment } from '../helpers/compile.ts';
import { runCli } from './run-cli.ts';

const root = new URL('../../', import.meta.url).pathname;
const modelNote = '  = note: MODEL is compiled into the network: model.ir, its kernels and weight layout';

/** Every command here fails (or not) while reading the config, before a GPU is opened. */
describe('hrnet refuses overrides of keys compiled into the program', async () => {
  const compiled = await compileTestExperiment('tiny/w8_64x64.yaml');
  const scratch = mkdtempSync(join(root, '.test-output', 'compile-only-'));
  const refused = `hrnet: the program in ${compiled} was compiled with other values of these keys; recompile the experiment (npx hrnetc EXP.yaml KEY VALUE …)`;

  it('lists MODEL and LOSS.USE_TARGET_WEIGHT as the compile-time keys', () => {
    expect(compileTimeKeys.map((k) => k.key)).toEqual(['MODEL', 'LOSS.USE_TARGET_WEIGHT']);
  });

  it('LOSS.USE_TARGET_WEIGHT: a located error at the argument, exit 1, no stack trace, no output', () => {
    const out = join(scratch, 'loss');
    const result = runCli('hrnet', [
      'train',
      compiled,
      '--synthetic',
      '8',
      'LOSS.USE_TARGET_WEIGHT',
      'False',
      'OUTPUT_DIR',
      out,
    ]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      [
        '<arg 1>:1:1: error[E205]: LOSS.USE_TARGET_WEIGHT is compiled into the program; recompile to change it: npx hrnetc EXP.yaml LOSS.USE_TARGET_WEIGHT False',
        '  |',
        '1 | LOSS.USE_TARGET_WEIGHT',
        '  | ^^^^^^^^^^^^^^^^^^^^^^',
        "  = note: LOSS.USE_TARGET_WEIGHT is compiled into the training step's loss (train-step.ir and its kernels)",
        '',
        '1 error',
        refused,
        '',
      ].join('\n'),
    );
    expect(existsSync(out)).toBe(false);
  });

  it('MODEL.*: one located error per changed key; runtime keys pass', () => {
    const out = join(scratch, 'model');
    const result = runCli('hrnet', [
      'train',
      compiled,
      '--synthetic',
      '8',
      'TRAIN.LR',
      '0.01',
      'MODEL.EXTRA.STAGE2.NUM_MODULES',
      '2',
      'MODEL.IMAGE_SIZE',
      '[96, 64]',
      'MODEL.HEATMAP_SIZE',
      '[24, 16]',
      'OUTPUT_DIR',
      out,
    ]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      [
        '<arg 3>:1:1: error[E205]: MODEL.EXTRA.STAGE2.NUM_MODULES is compiled into the program; recompile to change it: npx hrnetc EXP.yaml MODEL.EXTRA.STAGE2.NUM_MODULES 2',
        '  |',
        '1 | MODEL.EXTRA.STAGE2.NUM_MODULES',
        '  | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^',
        modelNote,
        '',
        "<arg 5>:1:1: error[E205]: MODEL.IMAGE_SIZE is compiled into the program; recompile to change it: npx hrnetc EXP.yaml MODEL.IMAGE_SIZE '[96, 64]'",
        '  |',
        '1 | MODEL.IMAGE_SIZE',
        '  | ^^^^^^^^^^^^^^^^',
        modelNote,
        '',
        "<arg 7>:1:1: error[E205]: MODEL.HEATMAP_SIZE is compiled into the program; recompile to change it: npx hrnetc EXP.yaml MODEL.HEATMAP_SIZE '[24, 16]'",
        '  |',
        '1 | MODEL.HEATMAP_SIZE',
        '  | ^^^^^^^^^^^^^^^^^^',
        modelNote,
        '',
        '3 errors',
        refused,
        '',
      ].join('\n'),
    );
    expect(existsSync(out)).toBe(false);
  });

  it('an override that keeps the compiled value is accepted', () => {
    // Past the config, the run stops at the missing data folder, still before the GPU.
    const data = join(scratch, 'no-data');
    const result = runCli('hrnet', [
      'train',
      compiled,
      '--data',
      data,
      'LOSS.USE_TARGET_WEIGHT',
      'True',
      'MODEL.NUM_JOINTS',
      '16',
      'MODEL.IMAGE_SIZE',
      '(64, 64)',
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `hrnet: ${data} holds neither annot/ (MPII) nor annotations/ (COCO); generate data with: npx hrnet synth --format mpii -n 200 -o ${data}\n`,
    );
  });

  it('a config.yaml edited after compiling is located in config.yaml', () => {
    const edited = join(scratch, 'edited', 'w8_64x64');
    cpSync(compiled, edited, { recursive: true });
    const configPath = join(edited, 'config.yaml');
    const lines = readFileSync(configPath, 'utf8').split('\n');
    const sigma = lines.indexOf('  SIGMA: 1');
    expect(sigma).toBeGreaterThan(0);
    lines[sigma] = '  SIGMA: 3';
    writeFileSync(configPath, lines.join('\n'));
    const out = join(scratch, 'edited-out');
    const result = runCli('hrnet', ['train', edited, '--synthetic', '8', 'OUTPUT_DIR', out]);
    const gutter = ' '.repeat(String(sigma + 1).length);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      [
        `${configPath}:${sigma + 1}:10: error[E205]: MODEL.SIGMA in this config.yaml differs from what the program was compiled with (manifest.json); recompile the experiment`,
        `${gutter} |`,
        `${sigma + 1} |   SIGMA: 3`,
        `${gutter} |          ^`,
        '',
        '1 error',
        `hrnet: the program in ${edited} was compiled with other values of these keys; recompile the experiment (npx hrnetc EXP.yaml KEY VALUE …)`,
        '',
      ].join('\n'),
    );
    expect(existsSync(out)).toBe(false);
  });
});
