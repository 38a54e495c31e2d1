import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Prng } from '../../common/prng.ts';
import { relativeError } from '../../common/relative-error.ts';
import { deviceKernel, kernelsForDevice, subgroupsPay } from '../../runtime/device-kernels.ts';
import {
  chooseKernels,
  chooseTrainingKernels,
  type TuningFile,
  tuningFileProblem,
} from '../../runtime/kernel-choice.ts';
import type { TrainStepProgram } from '../../runtime/program.ts';
import { loadCompiledProgram, loadTrainStep } from '../../runtime/program-loader.ts';
import { TrainStepRunner } from '../../runtime/train/train-step-runner.ts';
import { tuneKernels } from '../../runtime/tune/tune-kernels.ts';
import { tuneTrainingKernels } from '../../runtime/tune/tune-training-kernels.ts';
import { readSafetensors, type TensorMap, writeSafetensors } from '../../runtime/weights/safetensors.ts';
import { runCli } from '../cli/run-cli.ts';
import { testGpu } from '../helpers/gpu.ts';
import { testInput } from '../helpers/test-weights.ts';
import { testAdam, testTrainBatch } from '../helpers/train-batch.ts';

const fixture = new URL('../fixtures/ir/strided.ir', import.meta.url).pathname;
const adapter = 'mesa software llvmpipe: test';

function compile(target: string): string {
  const out = mkdtempSync(join(tmpdir(), 'hrnet-choice-'));
  const result = runCli('hrnetc', [fixture, '-o', out, '--target', target]);
  expect(result.status, result.stderr).toBe(0);
  return join(out, 'strided');
}

function tuning(kernels: TuningFile['kernels'], on = adapter): TuningFile {
  return { format: 'hrnetc-tuning', version: 1, adapter: on, experiment: 'strided', batch: 1, kernels };
}

describe('kernel variants: what the compiler emits and how the runtime chooses', async () => {
  const auto = await loadCompiledProgram(compile('auto'));
  const keys = auto.forward.dispatches.flatMap((d) => (d.choice ? [d.choice.key] : []));

  it('--target auto lists the GEMM and the direct tilings for its size for each convolution', () => {
    expect(keys).toHaveLength(2);
    const choices = auto.forward.dispatches.flatMap((d) => (d.choice ? [d.choice] : []));
    // The 3x3 (3→8, 8x8: 13824 multiply-adds per image) takes the light tilings, the 1x1 the large ones.
    expect(choices.map((c) => c.variants.map((v) => v.name))).toEqual([
      ['gemm', 'direct-p8k8', 'direct-p4k8'],
      ['gemm', 'direct-p16k16', 'direct-p12k16', 'direct-p8k16'],
    ]);
    for (const d of auto.forward.dispatches.filter((d) => d.choice)) {
      expect(d.choice!.defaults.hardware).toBe('gemm');
      expect(d.choice!.defaults.software).toMatch(/^direct-/);
      expect(d.kernel).toBe(d.choice!.variants.find((v) => v.name === d.choice!.defaults.software)!.kernel);
    }
  });

  it('a chosen variant that needs subgroups keeps its twin, which a device without them runs', () => {
    // As the compiler emits a direct variant reading its weights from storage (W32's 128 and 256
    // channels): the default with a twin, the others without.
    const withTwin = {
      ...auto.forward,
      dispatches: auto.forward.dispatches.map((d) =>
        d.choice
          ? {
              ...d,
              withoutSubgroups: 'plain',
              choice: {
                ...d.choice,
                variants: d.choice.variants.map((v) =>
                  v.name === d.choice!.defaults.software
                    ? { ...v, withoutSubgroups: `${v.kernel}_plain` }
                    : v,
                ),
              },
            }
          : d,
      ),
    };
    const software = chooseKernels(withTwin, auto.manifest.weights, { adapter, isSoftware: true });
    const hardware = chooseKernels(withTwin, auto.manifest.weights, { adapter, isSoftware: false });
    const chosen = software.program.dispatches.filter((d) => d.withoutSubgroups !== undefined);
    expect(chosen).toHaveLength(2);
    for (const d of chosen) expect(d.withoutSubgroups).toBe(`${d.kernel}_plain`);
    // The GEMM has no twin: the default's is not carried over to it.
    expect(hardware.program.dispatches.every((d) => d.withoutSubgroups === undefined)).toBe(true);
    const without = kernelsForDevice(software.program, new Set() as GPUSupportedFeatures);
    expect(without.dispatches.filter((d) => d.kernel.endsWith('_plain'))).toHaveLength(2);
    expect(kernelsForDevice(software.program, new Set(['subgroups']) as GPUSupportedFeatures)).toBe(
      software.program,
    );
  });

  it('devices are opened with subgroups only where the shared loads run (lavapipe: 8 lanes; not SwiftShader: 4)', async () => {
    const adapter = (features: string[], size?: number) =>
      ({ features: new Set(features), info: { subgroupMinSize: size } }) as unknown as GPUAdapter;
    expect(subgroupsPay(adapter(['subgroups'], 8))).toBe(true);
    expect(subgroupsPay(adapter(['subgroups'], 32))).toBe(true);
    expect(subgroupsPay(adapter(['subgroups'], 4))).toBe(false);
    expect(subgroupsPay(adapter(['subgroups']))).toBe(false);
    expect(subgroupsPay(adapter([], 8))).toBe(false);
    // The test device is lavapipe's.
    expect((await testGpu()).device.features.has('subgroups')).toBe(true);
  });

  it('defaults follow the adapter class; only the chosen kernels’ weights are packed', () => {
    const software = chooseKernels(auto.forward, auto.manifest.weights, { adapter, isSoftware: true });
    const hardware = chooseKernels(auto.forward, auto.manifest.weights, { adapter, isSoftware: false });
    expect(software.source).toBe('software defaults');
    expect(hardware.variantCounts).toEqual({ gemm: 2 });
    for (const chosen of [software, hardware]) {
      expect(chosen.program.dispatches.every((d) => d.choice === undefined)).toBe(true);
      expect(chosen.weights.bytes).toBeLessThan(auto.manifest.weights.bytes);
      const bound = new Set(
        chosen.program.dispatches.flatMap((d) =>
          d.bindings.flatMap((b) => (b.kind === 'weight' ? [b.entry] : [])),
        ),
      );
      chosen.weights.entries.forEach((entry, i) => {
        expect(entry.bytes > 0).toBe(bound.has(i));
      });
    }
  });

  it('a tuning file for this adapter decides; one for another adapter, or naming unknown variants, does not', () => {
    const file = tuning({
      [keys[0]!]: { variant: 'gemm', ms: {} },
      [keys[1]!]: { variant: 'direct-p16k16', ms: {} },
    });
    const tuned = chooseKernels(auto.forward, auto.manifest.weights, {
      adapter,
      isSoftware: true,
      tuning: file,
    });
    expect(tuned.source).toBe('tuning');
    expect(tuned.tuned).toBe(2);
    expect(tuned.variantCounts).toEqual({ gemm: 1, 'direct-p16k16': 1 });
    const elsewhere = chooseKernels(auto.forward, auto.manifest.weights, {
      adapter: 'another adapter',
      isSoftware: false,
      tuning: file,
    });
    expect(elsewhere.variantCounts).toEqual({ gemm: 2 });
    expect(elsewhere.ignoredTuning).toMatch(/measured on mesa software llvmpipe: test, not on this adapter/);
    const stale = tuning({ [keys[0]!]: { variant: 'direct-p4k4', ms: {} } });
    const fallback = chooseKernels(auto.forward, auto.manifest.weights, {
      adapter,
      isSoftware: false,
      tuning: stale,
    });
    expect(fallback.tuned).toBe(0);
    expect(fallback.variantCounts).toEqual({ gemm: 2 });
  });

  it('--target gpu emits only the GEMM; --target software makes the direct kernels every default', async () => {
    const gpu = await loadCompiledProgram(compile('gpu'));
    expect(gpu.forward.dispatches.some((d) => d.choice)).toBe(false);
    expect(gpu.manifest.kernels.some((k) => k.name.startsWith('direct'))).toBe(false);
    const software = await loadCompiledProgram(compile('software'));
    for (const d of software.forward.dispatches.filter((d) => d.choice))
      expect(d.choice!.defaults.hardware).toBe(d.choice!.defaults.software);
  });
});

describe("the training step's kernel variants", async () => {
  const folder = compile('auto');
  const step = await loadTrainStep(folder);
  const auto = await loadCompiledProgram(folder);
  const choices = step.dispatches.filter((d) => d.choice);

  it("--target auto offers the GEMM and the direct kernel's tilings for each convolution and gradient", () => {
    // conv1 and conv2: forward, input gradient and weight gradient each.
    expect(choices.map((d) => d.module)).toEqual(['conv1', 'conv2', 'conv2', 'conv2', 'conv1', 'conv1']);
    const light = ['direct-p8k8', 'direct-p4k8'];
    const large = ['direct-p16k16', 'direct-p12k16', 'direct-p8k16'];
    // conv1 (a small 3x3) takes the light tilings, conv2 (a 1x1) the large ones; a weight gradient
    // has one direct kernel.
    const expected = [
      [light, 'direct-p8k8'],
      [large, 'direct-p8k16'],
      [large, 'direct-p8k16'],
      [['direct'], 'direct'],
      [light, 'direct-p8k8'],
      [['direct'], 'direct'],
    ] as const;
    choices.forEach((d, i) => {
      const [direct, software] = expected[i]!;
      expect(d.choice!.variants.map((v) => v.name)).toEqual(['gemm', ...direct]);
      expect(d.choice!.defaults).toEqual({ software, hardware: 'gemm' });
      expect(d.kernel).toBe(d.choice!.variants.find((v) => v.name === software)!.kernel);
      expect(d.choice!.key).toBe(d.choice!.variants[0]!.kernel);
    });
    // conv1's input gradient (stride 2): the GEMM runs once per stride class, the direct kernel once.
    const strided = choices.find((d) => d.onlyForGradInput)!;
    expect(strided.choice!.variants[0]!.followedBy).toHaveLength(3);
    expect(strided.choice!.variants.slice(1).every((v) => v.followedBy === undefined)).toBe(true);
  });

  it('a software adapter runs the direct kernels, a GPU the GEMM with every stride class', () => {
    const software = chooseTrainingKernels(step, { adapter, isSoftware: true });
    expect(software.variantCounts).toEqual({ 'direct-p8k8': 2, 'direct-p8k16': 2, direct: 2 });
    expect(software.program.dispatches.map((d) => d.kernel)).toEqual(step.dispatches.map((d) => d.kernel));
    expect(software.program.dispatches.some((d) => d.choice)).toBe(false);
    const hardware = chooseTrainingKernels(step, { adapter: 'a GPU', isSoftware: false });
    expect(hardware.variantCounts).toEqual({ gemm: 6 });
    expect(hardware.source).toBe('hardware defaults');
    const kernels = hardware.program.dispatches.map((d) => d.kernel);
    expect(kernels).toHaveLength(step.dispatches.length + 3);
    expect(kernels.filter((k) => k.startsWith('gemm'))).toHaveLength(6 + 3);
    expect(kernels.some((k) => k.startsWith('direct') || k.startsWith('wgrad'))).toBe(false);
    // The stride classes' launches keep the dispatch's module and its mark.
    expect(hardware.program.dispatches.filter((d) => d.onlyForGradInput)).toHaveLength(4);
  });

  it("a GPU's choice computes the step a software adapter's does (run on lavapipe, strided input gradient included)", async () => {
    const tensors = randomState(step, 5);
    const batch = testTrainBatch(2, step.inputShapes.target[0]!, [16, 16], [8, 8], 6);
    const run = async (program: typeof step) => {
      const runner = await TrainStepRunner.create(await testGpu(), program, auto.kernels, testAdam);
      runner.setState(tensors);
      const result = await runner.step({ count: 2, ...batch }, 0.01, {
        heatmaps: true,
        gradients: true,
        gradInput: true,
      });
      const state = await runner.readState();
      runner.destroy();
      return { result, state };
    };
    const software = await run(chooseTrainingKernels(step, { adapter, isSoftware: true }).program);
    const hardware = await run(chooseTrainingKernels(step, { adapter: 'a GPU', isSoftware: false }).program);
    expect(relativeError([hardware.result.loss], [software.result.loss])).toBeLessThanOrEqual(1e-6);
    expect(relativeError(hardware.result.heatmaps!, software.result.heatmaps!)).toBeLessThanOrEqual(1e-5);
    expect(relativeError(hardware.result.gradients!, software.result.gradients!)).toBeLessThanOrEqual(1e-5);
    // conv1's input gradient: the GEMM's four stride classes against the direct kernel's one launch.
    expect(relativeError(hardware.result.gradInput!, software.result.gradInput!)).toBeLessThanOrEqual(1e-5);
    expect(
      relativeError(hardware.state.get('conv1.weight')!.data, software.state.get('conv1.weight')!.data),
    ).toBeLessThanOrEqual(1e-6);
  });

  it("the tuning file's training part decides the step's kernels; a file without one leaves the defaults", () => {
    const strided = choices.find((d) => d.onlyForGradInput)!.choice!.key;
    const file: TuningFile = {
      ...tuning({}),
      training: { batch: 2, kernels: { [strided]: { variant: 'gemm', ms: {} } } },
    };
    const tuned = chooseTrainingKernels(step, { adapter, isSoftware: true, tuning: file });
    expect(tuned.source).toBe('tuning');
    expect(tuned.tuned).toBe(1);
    expect(tuned.variantCounts).toEqual({ 'direct-p8k8': 1, 'direct-p8k16': 2, direct: 2, gemm: 1 });
    // The GEMM's stride classes come with it.
    expect(tuned.program.dispatches).toHaveLength(step.dispatches.length + 3);
    const forwardOnly = chooseTrainingKernels(step, { adapter, isSoftware: true, tuning: tuning({}) });
    expect(forwardOnly.source).toBe('software defaults');
    expect(forwardOnly.ignoredTuning).toBeUndefined();
    const elsewhere = chooseTrainingKernels(step, { adapter: 'a GPU', isSoftware: false, tuning: file });
    expect(elsewhere.variantCounts).toEqual({ gemm: 6 });
    expect(elsewhere.ignoredTuning).toMatch(/measured on mesa software llvmpipe: test, not on this adapter/);
    expect(tuningFileProblem(file)).toBeUndefined();
    expect(tuningFileProblem({ ...file, training: { batch: 2 } })).toBe('has no training kernels');
    expect(tuningFileProblem({ ...file, training: { batch: 2, kernels: { [strided]: {} } } })).toBe(
      `names no training variant for ${strided}`,
    );
  });

  it('--target gpu and --target software compile one strategy, with no choice', async () => {
    const gpu = await loadTrainStep(compile('gpu'));
    expect(gpu.dispatches.some((d) => d.choice)).toBe(false);
    expect(gpu.dispatches.some((d) => d.kernel.startsWith('direct') || d.kernel.startsWith('wgrad'))).toBe(
      false,
    );
    const softwareFolder = compile('software');
    const software = await loadTrainStep(softwareFolder);
    expect(software.dispatches.some((d) => d.choice)).toBe(false);
    expect(software.dispatches.map((d) => d.kernel)).toEqual(step.dispatches.map((d) => d.kernel));
    // No training GEMM is generated where no variant can run it.
    const written = (await loadCompiledProgram(softwareFolder)).manifest.kernels.map((k) => k.name);
    expect(written.filter((name) => name.startsWith('gemm'))).toEqual([]);
    expect(written.filter((name) => name.startsWith('wgrad')).length).toBeGreaterThan(0);
  });
});

describe('hrnet tune', async () => {
  const compiled = compile('auto');
  const work = mkdtempSync(join(tmpdir(), 'hrnet-tune-'));
  const weights = join(work, 'w.safetensors');
  const input = join(work, 'x.safetensors');
  const forward = (output: string) =>
    runCli('hrnet', ['forward', compiled, '--weights', weights, '--input', input, '-o', output]);

  it('times every variant, checked against the reference, and forward then runs the winners', async () => {
    expect(runCli('hrnet', ['init-weights', compiled, '-o', weights, '--seed', '3']).status).toBe(0);
    writeSafetensors(input, [['input', { shape: [2, 3, 16, 16], data: testInput(2 * 3 * 16 * 16, 4) }]]);
    const before = forward(join(work, 'defaults.safetensors'));
    expect(before.status, before.stderr).toBe(0);
    expect(before.stderr).toMatch(/convolution kernels: software defaults: direct-p8k8 1, direct-p8k16 1/);

    const tuned = runCli('hrnet', ['tune', compiled, '--batch', '2', '--repetitions', '3']);
    expect(tuned.status, tuned.stderr).toBe(0);
    expect(tuned.stderr).toMatch(
      /timed 2 convolutions \(chose [^)]+\) at batch 2 on .* \(timestamp queries\); wrote /,
    );
    const file = JSON.parse(readFileSync(join(compiled, 'tuning.json'), 'utf8')) as TuningFile;
    expect(file.batch).toBe(2);
    expect(Object.keys(file.kernels).sort()).toEqual([...new Set(keys(compiled))].sort());
    const program = await loadCompiledProgram(compiled);
    for (const [key, kernel] of Object.entries(file.kernels)) {
      const choice = program.forward.dispatches.find((d) => d.choice?.key === key)!.choice!;
      expect(Object.keys(kernel.ms)).toEqual(choice.variants.map((v) => v.name));
      expect(Object.values(kernel.ms).every((ms) => ms > 0)).toBe(true);
      const fastest = Math.min(...Object.values(kernel.ms));
      expect(kernel.ms[kernel.variant]).toBe(fastest);
    }

    const after = forward(join(work, 'tuned.safetensors'));
    expect(after.status, after.stderr).toBe(0);
    expect(after.stderr).toMatch(/convolution kernels: tuning\.json \(2 tuned\)/);
    const a = readSafetensors(join(work, 'defaults.safetensors')).get('output')!.data;
    const b = readSafetensors(join(work, 'tuned.safetensors')).get('output')!.data;
    expect(relativeError(b, a)).toBeLessThanOrEqual(1e-5);
  });

  it('a tuning file of another adapter is reported and ignored; a damaged one is a located error', () => {
    const path = join(compiled, 'tuning.json');
    const file = JSON.parse(readFileSync(path, 'utf8')) as TuningFile;
    writeFileSync(path, JSON.stringify({ ...file, adapter: 'some other GPU' }));
    const other = forward(join(work, 'other.safetensors'));
    expect(other.status, other.stderr).toBe(0);
    expect(other.stderr).toMatch(
      /warning: the tuning file was measured on some other GPU, not on this adapter/,
    );
    expect(other.stderr).toMatch(/convolution kernels: software defaults/);

    writeFileSync(path, '{"format": "hrnetc-tuning", ');
    const damaged = forward(join(work, 'damaged.safetensors'));
    expect(damaged.status).not.toBe(0);
    expect(damaged.stderr).toContain(`${path} is not valid JSON`);
    expect(damaged.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('hrnet tune --training', async () => {
  const compiled = compile('auto');
  const step = await loadTrainStep(compiled);
  const stepKeys = [...new Set(step.dispatches.flatMap((d) => (d.choice ? [d.choice.key] : [])))];

  it("also times the step's launches, and the step's runner then runs the winners (same results)", async () => {
    const tuned = runCli('hrnet', ['tune', compiled, '--training', '--batch', '2', '--repetitions', '1']);
    expect(tuned.status, tuned.stderr).toBe(0);
    expect(tuned.stderr).toMatch(/ and 6 training-step convolution launches \(chose [^)]+\) at batch 2 /);
    const file = JSON.parse(readFileSync(join(compiled, 'tuning.json'), 'utf8')) as TuningFile;
    expect(file.training!.batch).toBe(2);
    expect(Object.keys(file.training!.kernels).sort()).toEqual([...stepKeys].sort());
    expect(Object.keys(file.kernels)).toHaveLength(2);
    const loaded = await loadCompiledProgram(compiled);
    expect(loaded.tuning).toEqual(file);

    const tensors = randomState(step, 7);
    const batch = testTrainBatch(2, step.inputShapes.target[0]!, [16, 16], [8, 8], 6);
    const gpu = await testGpu();
    const run = async (tuning?: TuningFile) => {
      const runner = await TrainStepRunner.create(gpu, step, loaded.kernels, testAdam, tuning);
      runner.setState(tensors);
      const result = await runner.step({ count: 2, ...batch }, 0.01, { heatmaps: true, gradients: true });
      runner.destroy();
      return {
        result,
        choice: runner.kernelChoice,
        dispatches: runner.lastDispatches,
        hostMs: runner.lastHostMs,
      };
    };
    const defaults = await run();
    expect(defaults.choice.source).toBe('software defaults');
    // What the benchmarks print per step: the launches recorded (not the input's gradient), and Adam.
    expect(defaults.dispatches).toBe(step.dispatches.filter((d) => !d.onlyForGradInput).length + 1);
    expect(defaults.hostMs).toBeGreaterThan(0);
    // Whatever won, run every launch the other way too: a file naming the GEMM throughout.
    const gemm = Object.fromEntries(stepKeys.map((key) => [key, { variant: 'gemm', ms: {} }]));
    // And each launch's first direct variant other than its default, where it has one.
    const others = Object.fromEntries(
      stepKeys.map((key) => {
        const choice = step.dispatches.find((d) => d.choice?.key === key)!.choice!;
        const other = choice.variants.find((v) => v.name !== 'gemm' && v.name !== choice.defaults.software);
        return [key, { variant: (other ?? choice.variants[1]!).name, ms: {} }];
      }),
    );
    expect(Object.values(others).map((k) => k.variant)).toContain('direct-p4k8');
    expect(Object.values(others).map((k) => k.variant)).toContain('direct-p16k16');
    for (const kernels of [file.training!.kernels, gemm, others]) {
      const tunedRun = await run({ ...file, training: { batch: 2, kernels } });
      expect(tunedRun.choice.source).toBe('tuning');
      expect(tunedRun.choice.tuned).toBe(6);
      const { loss, heatmaps, gradients } = tunedRun.result;
      expect(relativeError([loss], [defaults.result.loss])).toBeLessThanOrEqual(1e-6);
      expect(relativeError(heatmaps!, defaults.result.heatmaps!)).toBeLessThanOrEqual(1e-5);
      expect(relativeError(gradients!, defaults.result.gradients!)).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe('the tuner checks each candidate before timing it', () => {
  it('a variant whose output differs from the reference is rejected, never chosen', async () => {
    const program = await loadCompiledProgram(compile('auto'));
    const broken = program.forward.dispatches.find((d) =>
      d.choice?.variants.some((v) => v.name === 'direct-p16k16'),
    )!.choice!;
    const victim = broken.variants.find((v) => v.name === 'direct-p16k16')!.kernel;
    const kernels = new Map(program.kernels);
    const wrong = kernels.get(victim)!.replace('+ bias[co]', '+ 2.0 * bias[co]');
    expect(wrong).not.toBe(kernels.get(victim));
    kernels.set(victim, wrong);
    const result = await tuneKernels(await testGpu(), { ...program, kernels }, { batch: 1, repetitions: 1 });
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]).toMatch(new RegExp(`^${broken.key} direct-p16k16: relative error`));
    expect(Object.keys(result.file.kernels[broken.key]!.ms)).toEqual([
      'gemm',
      'direct-p12k16',
      'direct-p8k16',
    ]);
    expect(result.file.kernels[broken.key]!.variant).not.toBe('direct-p16k16');
  });
});

describe("the tuner checks each of the training step's candidates before timing it", async () => {
  const folder = compile('auto');
  const step = await loadTrainStep(folder);
  const program = await loadCompiledProgram(folder);
  const choiceKeys = [...new Set(step.dispatches.flatMap((d) => (d.choice ? [d.choice.key] : [])))];

  it('every variant of every launch agrees with the GEMM (a split reduction by the sum of its slices)', async () => {
    const result = await tuneTrainingKernels(await testGpu(), step, program.kernels, {
      batch: 2,
      repetitions: 1,
    });
    expect(result.rejected).toEqual([]);
    expect(Object.keys(result.kernels).sort()).toEqual([...choiceKeys].sort());
    for (const [key, kernel] of Object.entries(result.kernels)) {
      const choice = step.dispatches.find((d) => d.choice?.key === key)!.choice!;
      expect(Object.keys(kernel.ms)).toEqual(choice.variants.map((v) => v.name));
      expect(Object.values(kernel.ms).every((ms) => ms > 0)).toBe(true);
      expect(kernel.ms[kernel.variant]).toBe(Math.min(...Object.values(kernel.ms)));
    }
  });

  it('a weight gradient with one tap wrong is rejected, never chosen', async () => {
    const gpu = await testGpu();
    const wgrad = step.dispatches.find(
      (d) => d.module === 'conv1' && d.choice?.variants[1]?.workgroups.kind === 'split-tiles',
    )!.choice!;
    const direct = wgrad.variants[1]!;
    const victim = deviceKernel(direct, gpu.device.features);
    const kernels = new Map(program.kernels);
    const wrong = kernels.get(victim)!.replace('+ 4u] = a0_4;', '+ 4u] = 2.0 * a0_4;');
    expect(wrong).not.toBe(kernels.get(victim));
    kernels.set(victim, wrong);
    const result = await tuneTrainingKernels(gpu, step, kernels, { batch: 2, repetitions: 1 });
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]).toMatch(
      new RegExp(`^${wgrad.key} direct: relative error \\S+ at @binding\\(1\\)$`),
    );
    expect(result.kernels[wgrad.key]).toEqual({ variant: 'gemm', ms: { gemm: expect.any(Number) } });
  });
});

/** Parameters in [-0.5, 0.5) and running variances in [0.5, 1.5), by official name. */
function randomState(step: TrainStepProgram, seed: number): TensorMap {
  const prng = new Prng(seed);
  return new Map(
    [...step.parameters, ...step.running].map((entry) => {
      const count = entry.shape.reduce((n, d) => n * d, 1);
      const low = entry.name.endsWith('running_var') ? 0.5 : -0.5;
      return [
        entry.name,
        { shape: entry.shape, data: Float32Array.from({ length: count }, () => low + prng.next()) },
      ];
    }),
  );
}

function keys(compiled: string): string[] {
  const text = readFileSync(join(compiled, 'forward.ts'), 'utf8');
  return [...text.matchAll(/key: '([^']+)'/g)].map((m) => m[1]!);
}
