import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { relativeError } from '../../common/relative-error.ts';
import { interpretGraph } from '../../compiler/ir/interpret.ts';
import { buildTrainingGraph, trainingOutput } from '../../compiler/passes/training-graph.ts';
import { kernelsForDevice } from '../../runtime/device-kernels.ts';
import { loadCompiledProgram, loadTrainStep } from '../../runtime/program-loader.ts';
import { TrainStepRunner } from '../../runtime/train/train-step-runner.ts';
import { readSafetensors } from '../../runtime/weights/safetensors.ts';
import { compileTestExperiment } from '../helpers/compile.ts';
import { lowerTestExperiment } from '../helpers/experiments.ts';
import { testGpu } from '../helpers/gpu.ts';
import { testWeights } from '../helpers/test-weights.ts';
import { testAdam, testTrainBatch } from '../helpers/train-batch.ts';

/**
 * The tiny experiment's training step on the GPU against the official PyTorch step
 * (scripts/reference/train_step_reference.py) and against the float64 interpreter.
 */
const referencePath = new URL('../reference/train_step_w8_64x64.safetensors', import.meta.url).pathname;
const reference = readSafetensors(referencePath);
const headerLength = Number(new DataView(readFileSync(referencePath).buffer).getBigUint64(0, true));
const metadata = JSON.parse(
  readFileSync(referencePath)
    .subarray(8, 8 + headerLength)
    .toString(),
).__metadata__ as Record<string, string>;
const torch32Errors = new Map(
  metadata
    .torch32_grad_relative_error!.split(' ')
    .map((pair) => [pair.split('=')[0]!, Number(pair.split('=')[1])]),
);

const forward = lowerTestExperiment('tiny/w8_64x64.yaml');
const graph = buildTrainingGraph(forward, { useTargetWeight: true });
const weights = testWeights(forward, 21);
const batch = testTrainBatch(2, 16, [64, 64], [16, 16], 22);
// The step as a user runs it: the generated backward.ts and kernels/*.wgsl of a compiled folder.
const compiled = await compileTestExperiment('tiny/w8_64x64.yaml');
const trainStep = await loadTrainStep(compiled);
const { kernels } = await loadCompiledProgram(compiled);

async function gpuStep() {
  const runner = await TrainStepRunner.create(await testGpu(), trainStep, kernels, testAdam);
  runner.setState(weights);
  const result = await runner.step({ count: 2, ...batch }, 0.002, {
    heatmaps: true,
    gradients: true,
    gradInput: true,
  });
  const state = await runner.readState();
  const gradients = runner.gradientTensors(result.gradients!);
  runner.destroy();
  return { result, state, gradients };
}

describe('train-step equals the official PyTorch step', () => {
  it('loss and training-mode output ≤ 1e-4, running statistics ≤ 1e-5, gradients as close as float32 allows', async () => {
    const { result, state, gradients } = await gpuStep();
    const report = (what: string, e: number) => {
      console.log(`train-step parity ${what}: relative error ${e.toExponential(2)}`);
      return e;
    };
    expect(report('loss', relativeError([result.loss], reference.get('loss64')!.data))).toBeLessThanOrEqual(
      1e-4,
    );
    expect(
      report('output', relativeError(result.heatmaps!, reference.get('output64')!.data)),
    ).toBeLessThanOrEqual(1e-4);
    let runningWorst = 0;
    for (const [name, value] of reference) {
      if (name.startsWith('after.') && /running_(mean|var)$/.test(name))
        runningWorst = Math.max(runningWorst, relativeError(state.get(name.slice(6))!.data, value.data));
    }
    expect(report('BN running statistics (worst)', runningWorst)).toBeLessThanOrEqual(1e-5);
    // Per tensor: within 1e-4 of float64, and never more than 10× further than PyTorch's own float32 step.
    let worst = 0;
    for (const [name, value] of reference) {
      if (!name.startsWith('grad64.')) continue;
      const parameter = name.slice(7);
      const ours = parameter === 'input' ? result.gradInput! : gradients.get(parameter)!.data;
      const e = relativeError(ours, value.data);
      worst = Math.max(worst, e);
      expect(e, parameter).toBeLessThanOrEqual(Math.max(1e-4, 10 * torch32Errors.get(parameter)!));
    }
    report(`gradients (worst; PyTorch float32 itself ${metadata.torch32_grad_relative_error_max})`, worst);
    // The Adam update from the same starting point: the final layer after one step.
    expect(
      report(
        'parameters after Adam',
        relativeError(state.get('final_layer.weight')!.data, reference.get('after.final_layer.weight')!.data),
      ),
    ).toBeLessThanOrEqual(1e-5);
  });

  it('runs the weight gradients with subgroups where the device has them, and their twins where not', async () => {
    expect((await testGpu()).device.features.has('subgroups')).toBe(true);
    const twinned = trainStep.dispatches.filter((d) => d.withoutSubgroups !== undefined);
    // Every 3x3 and 1x1 weight gradient whose input channels fill whole subgroups (all but the stem's).
    expect(twinned.length).toBeGreaterThan(40);
    for (const d of twinned) {
      expect(kernels.get(d.kernel)).toMatch(/^enable subgroups;$/m);
      expect(kernels.get(d.withoutSubgroups!)).not.toMatch(/subgroup/);
    }
    expect(kernelsForDevice(trainStep, new Set(['subgroups']) as GPUSupportedFeatures)).toBe(trainStep);
    const without = kernelsForDevice(trainStep, new Set() as GPUSupportedFeatures);
    expect(without.dispatches.map((d) => d.kernel)).toEqual(
      trainStep.dispatches.map((d) => d.withoutSubgroups ?? d.kernel),
    );
  });

  it('matches the float64 interpreter, and two runs give identical bytes', async () => {
    const first = await gpuStep();
    const second = await gpuStep();
    expect(second.result.loss).toBe(first.result.loss);
    expect(second.result.gradients).toEqual(first.result.gradients);
    expect(second.result.heatmaps).toEqual(first.result.heatmaps);
    const values = interpretGraph(graph, {
      batch: 2,
      input: batch.input,
      parameters: new Map([...weights].map(([k, v]) => [k, v.data])),
      extraInputs: new Map([
        ['target', batch.target],
        ['target_weight', batch.targetWeight],
      ]),
    });
    const output = (name: string) =>
      values[graph.nodes.find((n) => n.op === 'output' && n.module === name)!.id]!.data;
    expect(relativeError(first.result.heatmaps!, output(trainingOutput.heatmaps))).toBeLessThanOrEqual(1e-4);
    expect(
      relativeError(
        first.gradients.get('conv1.weight')!.data,
        output(trainingOutput.gradient('conv1.weight')),
      ),
    ).toBeLessThanOrEqual(1e-3);
    expect(
      relativeError(
        first.gradients.get('final_layer.bias')!.data,
        output(trainingOutput.gradient('final_layer.bias')),
      ),
    ).toBeLessThanOrEqual(1e-4);
  });
});
