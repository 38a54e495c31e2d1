/**
 * Official PyTorch checkpoints in, PyTorch and ONNX out. The official_* fixtures are the official
 * PoseHighResolutionNet's own `torch.save(model.state_dict())` after two training-mode forwards, with
 * its eval-mode output (scripts/reference/pth_interop_reference.py make); ONNX models run in ONNX
 * Runtime's CPU back end.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { relativeError } from '../../common/relative-error.ts';
import { ForwardRunner } from '../../runtime/gpu/forward-runner.ts';
import { loadCompiledProgram } from '../../runtime/program-loader.ts';
import { readWeightFile, readWeights } from '../../runtime/weights/read-weights.ts';
import { readSafetensors, writeSafetensors } from '../../runtime/weights/safetensors.ts';
import { runCli } from '../cli/run-cli.ts';
import { compileTestExperiment } from '../helpers/compile.ts';
import { lowerTestExperiment } from '../helpers/experiments.ts';
import { testGpu } from '../helpers/gpu.ts';
import { testInput, testWeights } from '../helpers/test-weights.ts';

const root = new URL('../../', import.meta.url).pathname;
const fixtures = new URL('../fixtures/pth/', import.meta.url).pathname;
const scratch = mkdtempSync(join(root, '.test-output', 'export-'));

async function hrnetForward(compiled: string, weightsPath: string, input: Float32Array, batch: number) {
  const program = await loadCompiledProgram(compiled);
  const runner = await ForwardRunner.forCompiled(await testGpu(), program, readWeights(weightsPath));
  try {
    return await runner.run(input, batch);
  } finally {
    runner.destroy();
  }
}

async function onnxForward(model: string, input: Float32Array, shape: number[]) {
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  const result = await session.run({ input: new ort.Tensor('float32', input, shape) });
  await session.release();
  const output = result.output!;
  return { dims: [...output.dims], data: output.data as Float32Array };
}

function exportModel(compiled: string, weights: string, output: string, extra: string[] = []) {
  const result = runCli('hrnet', ['export', compiled, '--weights', weights, '-o', output, ...extra]);
  expect(result.status, result.stderr).toBe(0);
  return result.stderr;
}

const officialCases = [
  { experiment: 'tiny/w8_64x64.yaml', pth: 'official_w8_64x64.pth', inputSeed: 8, dtype: 'float32' },
  { experiment: 'tiny/w8_96x64.yaml', pth: 'official_w8_96x64_half.pth', inputSeed: 10, dtype: 'float16' },
] as const;

describe('official .pth files (torch.save of the official model) in hrnet forward', () => {
  for (const c of officialCases) {
    it(`${c.pth} (${c.dtype}): equals the official model's output within 1e-5 relative`, async () => {
      const compiled = await compileTestExperiment(c.experiment);
      const file = readWeightFile(join(fixtures, c.pth));
      expect(file.format).toBe('zip');
      expect(file.dtypes.get('conv1.weight')).toBe(c.dtype);
      expect(file.tensors.get('bn1.num_batches_tracked')!.data[0]).toBe(2);
      const expected = readSafetensors(join(fixtures, c.pth.replace('.pth', '.output.safetensors'))).get(
        'output',
      )!;
      const program = await loadCompiledProgram(compiled);
      const perImage = program.forward.input.shape.reduce((n, d) => n * d, 1);
      const output = await hrnetForward(
        compiled,
        join(fixtures, c.pth),
        testInput(2 * perImage, c.inputSeed),
        2,
      );
      expect(relativeError(output, expected.data)).toBeLessThanOrEqual(1e-5);
    });
  }
});

describe('official train.py checkpoint of a DataParallel model, legacy format', () => {
  it('gives exactly the tensors of the zip state_dict of the same model (so the same forward)', () => {
    const checkpoint = readWeightFile(join(fixtures, 'official_w8_64x64_checkpoint_legacy.pth'));
    expect(checkpoint.format).toBe('legacy');
    expect(checkpoint.pth!.checkpointKey).toBe('state_dict');
    expect(checkpoint.pth!.strippedModulePrefix).toBe(true);
    expect(checkpoint.pth!.otherKeys).toEqual(['epoch', 'model', 'best_state_dict', 'perf', 'optimizer']);
    const plain = readWeights(join(fixtures, 'official_w8_64x64.pth'));
    expect([...checkpoint.tensors.keys()]).toEqual([...plain.keys()]);
    for (const [name, tensor] of plain) expect(checkpoint.tensors.get(name)!.data, name).toEqual(tensor.data);
  });
});

describe('hrnet export', async () => {
  const compiled = await compileTestExperiment('tiny/w8_64x64.yaml');
  const official = join(fixtures, 'official_w8_64x64.pth');

  it("--format pth gives back torch's own state_dict: names, order, dtypes, shapes, values, num_batches_tracked", () => {
    const out = join(scratch, 'reexported.pth');
    expect(exportModel(compiled, official, out)).toContain(
      'torch.save zip state_dict, 296 tensors; num_batches_tracked from the file',
    );
    const want = readWeightFile(official);
    const got = readWeightFile(out);
    expect(got.format).toBe('zip');
    expect(got.pth!.layout).toBe('a plain state_dict');
    expect([...got.tensors.keys()]).toEqual([...want.tensors.keys()]);
    expect([...got.dtypes]).toEqual([...want.dtypes]);
    for (const [name, tensor] of want.tensors) {
      expect(got.tensors.get(name)!.shape, name).toEqual(tensor.shape);
      expect(got.tensors.get(name)!.data, name).toEqual(tensor.data);
    }
  });

  it('--format safetensors from a .pth: the float tensors under their names', () => {
    const out = join(scratch, 'from-pth.safetensors');
    exportModel(compiled, official, out);
    const got = readSafetensors(out);
    const want = readWeights(official);
    expect(got.size).toBe(247);
    for (const [name, tensor] of got) expect(tensor.data, name).toEqual(want.get(name)!.data);
  });

  it('--format onnx: ONNX Runtime (CPU) equals hrnet forward within 1e-5 at batch 1 and 3, and the official model', async () => {
    const model = join(scratch, 'w8_64x64.onnx');
    expect(exportModel(compiled, official, model)).toContain(
      'ONNX opset 17, 174 nodes, BatchNormalization not folded, batch size free',
    );
    const perImage = 3 * 64 * 64;
    for (const batch of [1, 3]) {
      const input = testInput(batch * perImage, 40 + batch);
      const got = await onnxForward(model, input, [batch, 3, 64, 64]);
      expect(got.dims).toEqual([batch, 16, 16, 16]);
      const ours = await hrnetForward(compiled, official, input, batch);
      expect(relativeError(got.data, ours), `batch ${batch}`).toBeLessThanOrEqual(1e-5);
    }
    const expected = readSafetensors(join(fixtures, 'official_w8_64x64.output.safetensors')).get('output')!;
    const got = await onnxForward(model, testInput(2 * perImage, 8), [2, 3, 64, 64]);
    expect(relativeError(got.data, expected.data)).toBeLessThanOrEqual(1e-5);
  });

  it('keeps the official names as initializer names, and a non-square model exports too', async () => {
    const nonSquare = await compileTestExperiment('tiny/w8_96x64.yaml');
    const weights = join(scratch, 'w8_96x64.safetensors');
    writeSafetensors(weights, testWeights(lowerTestExperiment('tiny/w8_96x64.yaml'), 11));
    const model = join(scratch, 'w8_96x64.onnx');
    exportModel(nonSquare, weights, model, ['--format', 'onnx']);
    const bytes = readFileSync(model).toString('latin1');
    for (const name of ['conv1.weight', 'stage3.0.fuse_layers.1.0.0.1.running_var', 'final_layer.bias'])
      expect(bytes).toContain(name);
    const input = testInput(2 * 3 * 96 * 64, 12);
    const got = await onnxForward(model, input, [2, 3, 96, 64]);
    expect(got.dims).toEqual([2, 17, 24, 16]);
    expect(relativeError(got.data, await hrnetForward(nonSquare, weights, input, 2))).toBeLessThanOrEqual(
      1e-5,
    );
  });

  it('a safetensors file without num_batches_tracked exports zeros, and says so', () => {
    const weights = join(scratch, 'plain.safetensors');
    writeSafetensors(weights, testWeights(lowerTestExperiment('tiny/w8_64x64.yaml'), 13));
    const out = join(scratch, 'plain.pth');
    expect(exportModel(compiled, weights, out)).toContain('num_batches_tracked = 0 (not in the file)');
    const file = readWeightFile(out);
    expect(file.dtypes.get('layer1.0.bn3.num_batches_tracked')).toBe('int64');
    expect(file.tensors.get('layer1.0.bn3.num_batches_tracked')!.data[0]).toBe(0);
  });

  it('refuses what it cannot write, with one-line errors', () => {
    const noFormat = runCli('hrnet', [
      'export',
      compiled,
      '--weights',
      official,
      '-o',
      join(scratch, 'm.bin'),
    ]);
    expect(noFormat.status).toBe(1);
    expect(noFormat.stderr).toContain('say which format to write with --format pth|onnx|safetensors');
    const wrongModel = runCli('hrnet', [
      'export',
      compiled,
      '--weights',
      join(fixtures, 'official_w8_96x64_half.pth'),
      '-o',
      join(scratch, 'x.pth'),
    ]);
    expect(wrongModel.status).toBe(1);
    expect(wrongModel.stderr).toMatch(
      /official_w8_96x64_half\.pth: weights do not match the model \(.*final_layer\.weight/,
    );
    const folder = runCli('hrnet', ['export', compiled, '--weights', official, '-o', scratch]);
    expect(folder.status).toBe(1);
    expect(folder.stderr).toContain('is a folder; name a file to write');
  });
});

describe('round trip: official .pth → hrnet train → export .pth', async () => {
  const compiled = await compileTestExperiment('tiny/w8_64x64.yaml');

  it('trains one epoch from the official checkpoint and exports a state_dict with the official keys', () => {
    const official = join(fixtures, 'official_w8_64x64.pth');
    const output = join(scratch, 'round-trip');
    const trained = runCli(
      'hrnet',
      [
        'train',
        compiled,
        '--weights',
        official,
        '--synthetic',
        '16',
        ...['TRAIN.BATCH_SIZE_PER_GPU', '8', 'TEST.BATCH_SIZE_PER_GPU', '8', 'TRAIN.END_EPOCH', '1'],
        ...['WORKERS', '1', 'OUTPUT_DIR', output],
      ],
      { timeoutMs: 900_000 },
    );
    expect(trained.status, trained.stderr).toBe(0);
    const checkpoint = join(output, 'mpii', 'pose_hrnet', 'w8_64x64', 'final_state.safetensors');
    const out = join(scratch, 'trained.pth');
    expect(exportModel(compiled, checkpoint, out)).toContain(
      "num_batches_tracked = 2 (the checkpoint's training steps)",
    );
    const want = readWeightFile(official);
    const got = readWeightFile(out);
    expect([...got.tensors.keys()]).toEqual([...want.tensors.keys()]);
    expect([...got.dtypes]).toEqual([...want.dtypes]);
    const trainedWeights = readSafetensors(checkpoint);
    for (const [name, tensor] of trainedWeights)
      expect(got.tensors.get(name)!.data, name).toEqual(tensor.data);
    // checkpoint.safetensors also holds Adam's moments, which a state_dict does not.
    const fromCheckpoint = exportModel(
      compiled,
      join(output, 'mpii', 'pose_hrnet', 'w8_64x64', 'checkpoint.safetensors'),
      join(scratch, 'checkpoint.pth'),
    );
    expect(fromCheckpoint).toMatch(/left out \d+ optimizer tensors of the checkpoint/);
    expect([...readWeights(join(scratch, 'checkpoint.pth')).keys()]).toEqual([...want.tensors.keys()]);
    // Training moved the weights away from the official file's.
    expect(got.tensors.get('final_layer.weight')!.data).not.toEqual(
      want.tensors.get('final_layer.weight')!.data,
    );
  }, 1_200_000);
});
