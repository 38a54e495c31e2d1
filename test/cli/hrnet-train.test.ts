import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTrainStep } from '../../runtime/program-loader.ts';
import { readSafetensors } from '../../runtime/weights/safetensors.ts';
import { compileTestExperiment } from '../helpers/compile.ts';
import { runCli } from './run-cli.ts';

const root = new URL('../../', import.meta.url).pathname;
/** Small and quick: 16 synthetic images, batches of 8, two epochs. */
const settings = [
  '--synthetic',
  '16',
  'TRAIN.BATCH_SIZE_PER_GPU',
  '8',
  'TEST.BATCH_SIZE_PER_GPU',
  '8',
  'TRAIN.END_EPOCH',
  '2',
  'WORKERS',
  '1',
];

function stateOf(path: string): Map<string, Float32Array> {
  return new Map([...readSafetensors(path)].map(([k, v]) => [k, v.data]));
}

describe('hrnet train', async () => {
  const compiled = await compileTestExperiment('tiny/w8_64x64.yaml');
  const scratch = mkdtempSync(join(root, '.test-output', 'train-'));

  it('trains with the official outputs; train.ts runs the same; a SIGKILL-ed run resumes to the same weights', async () => {
    const straight = join(scratch, 'straight');
    // With the official DEBUG pictures (they do not change the weights the resumed run is compared to).
    const debug = [
      ...['DEBUG.DEBUG', 'True', 'PRINT_FREQ', '1'],
      ...['DEBUG.SAVE_BATCH_IMAGES_GT', 'True', 'DEBUG.SAVE_BATCH_IMAGES_PRED', 'True'],
      ...['DEBUG.SAVE_HEATMAPS_GT', 'True', 'DEBUG.SAVE_HEATMAPS_PRED', 'True'],
    ];
    const result = runCli('hrnet', ['train', compiled, ...settings, ...debug, 'OUTPUT_DIR', straight], {
      timeoutMs: 900_000,
    });
    expect(result.status, result.stderr).toBe(0);
    const dir = join(straight, 'mpii', 'pose_hrnet', 'w8_64x64');
    for (const file of [
      'checkpoint.safetensors',
      'model_best.safetensors',
      'final_state.safetensors',
      'train-log.jsonl',
      'training-curves.png',
      'train_1_gt.png',
      'train_1_hm_pred.png',
      'val_0_pred.png',
      'val_0_hm_gt.png',
    ]) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    const log = readFileSync(join(dir, 'train-log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { epoch: number; loss: number; perf: number });
    expect(log.map((r) => r.epoch)).toEqual([0, 1]);
    expect(log.every((r) => Number.isFinite(r.loss) && Number.isFinite(r.perf))).toBe(true);
    expect(result.stderr).toMatch(/epoch 2\/2: lr 2\.00e-3, loss /);
    // Every convolution launch of the step (forward, input and weight gradients) on lavapipe's default.
    const counts = new Map<string, number>();
    for (const d of (await loadTrainStep(compiled)).dispatches)
      if (d.choice) counts.set(d.choice.defaults.software, (counts.get(d.choice.defaults.software) ?? 0) + 1);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect([...counts.keys()].every((name) => name.startsWith('direct'))).toBe(true);
    const line = [...counts].map(([name, n]) => `${name} ${n}`).join(', ');
    expect(result.stderr).toContain(`hrnet: training kernels: software defaults: ${line}\n`);
    const final = stateOf(join(dir, 'final_state.safetensors'));
    expect(final.has('bn1.running_var')).toBe(true);

    // The same run through the generated train.ts, killed with SIGKILL during epoch 2, then resumed.
    const resumed = join(scratch, 'resumed');
    const rdir = join(resumed, 'mpii', 'pose_hrnet', 'w8_64x64');
    const args = [
      join(root, 'node_modules/tsx/dist/cli.mjs'),
      join(compiled, 'train.ts'),
      ...settings,
      'OUTPUT_DIR',
      resumed,
    ];
    // tsx runs train.ts in a child process of its own: the run is a process group, killed as one (a
    // SIGKILL to tsx alone left the trainer running, and the output folder's lock now says so).
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'ignore', detached: true });
    // Listened for from the start: a run that ends before the kill must fail the test, not hang it.
    let exited = false;
    const exit = new Promise<void>((resolve) =>
      child.on('exit', () => {
        exited = true;
        resolve();
      }),
    );
    // Killed as soon as epoch 1's checkpoint is there, so during epoch 2: two training steps,
    // validation and the final writes still to come (a fixed wait after the checkpoint outlasted
    // epoch 2 once the kernels got faster).
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const poll = setInterval(() => {
        if (exited) {
          clearInterval(poll);
          reject(new Error('the run ended before it could be killed during epoch 2'));
        } else if (existsSync(join(rdir, 'checkpoint.safetensors'))) {
          clearInterval(poll);
          process.kill(-child.pid!, 'SIGKILL');
          resolve();
        } else if (Date.now() - started > 240_000) {
          clearInterval(poll);
          reject(new Error('no checkpoint appeared'));
        }
      }, 20);
    });
    await exit;
    expect(existsSync(join(rdir, 'final_state.safetensors'))).toBe(false);
    const checkpointTime = statSync(join(rdir, 'checkpoint.safetensors')).mtimeMs;
    const resume = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    resume.stderr.on('data', (d) => {
      stderr += String(d);
    });
    const code = await new Promise((resolve) => resume.on('exit', resolve));
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('resuming from');
    expect(statSync(join(rdir, 'checkpoint.safetensors')).mtimeMs).toBeGreaterThan(checkpointTime);
    const resumedFinal = stateOf(join(rdir, 'final_state.safetensors'));
    for (const [name, value] of final) expect(resumedFinal.get(name), name).toEqual(value);
  }, 1_800_000);

  it('stops on a non-finite loss and leaves the last good checkpoint intact', () => {
    const out = join(scratch, 'diverge');
    const first = runCli(
      'hrnet',
      [
        'train',
        compiled,
        ...settings.slice(0, -4),
        'TRAIN.END_EPOCH',
        '1',
        'WORKERS',
        '1',
        'OUTPUT_DIR',
        out,
      ],
      { timeoutMs: 900_000 },
    );
    expect(first.status, first.stderr).toBe(0);
    const checkpoint = join(out, 'mpii', 'pose_hrnet', 'w8_64x64', 'checkpoint.safetensors');
    const before = readFileSync(checkpoint);
    const diverged = runCli(
      'hrnet',
      [
        'train',
        compiled,
        ...settings.slice(0, -4),
        'TRAIN.END_EPOCH',
        '2',
        'WORKERS',
        '1',
        'OUTPUT_DIR',
        out,
        'TRAIN.LR',
        '1e30',
      ],
      { timeoutMs: 900_000 },
    );
    expect(diverged.status).toBe(1);
    expect(diverged.stderr).toMatch(/the loss became (NaN|Infinity)/);
    expect(readFileSync(checkpoint).equals(before)).toBe(true);
  }, 1_800_000);
});
