import { describe, expect, it } from 'vitest';
import { relativeError } from '../../common/relative-error.ts';
import { ForwardRunner } from '../../runtime/gpu/forward-runner.ts';
import type { TuningFile } from '../../runtime/kernel-choice.ts';
import { loadCompiledProgram } from '../../runtime/program-loader.ts';
import { readSafetensors } from '../../runtime/weights/safetensors.ts';
import { compileTestExperiment } from '../helpers/compile.ts';
import { lowerTestExperiment } from '../helpers/experiments.ts';
import { testGpu } from '../helpers/gpu.ts';
import { testInput, testWeights } from '../helpers/test-weights.ts';

/**
 * Whole models against the official PyTorch HRNet in eval mode (scripts/reference/forward_reference.py
 * with the same test weights and input), through the generated forward.ts, kernels and manifest.
 */
async function runCompiled(experiment: string, batch: number, weightSeed: number, inputSeed: number) {
  const dir = await compileTestExperiment(experiment);
  const program = await loadCompiledProgram(dir);
  const { manifest, forward } = program;
  const weights = testWeights(lowerTestExperiment(experiment), weightSeed);
  const runner = await ForwardRunner.forCompiled(await testGpu(), program, weights);
  const perImage = forward.input.shape.reduce((n, d) => n * d, 1);
  const output = await runner.run(testInput(perImage * batch, inputSeed), batch);
  runner.destroy();
  return { output, manifest, forward };
}

/** Prints the measured error, so the README's numbers come from running this test. */
function report(what: string, error: number): number {
  console.log(`forward parity ${what}: relative error ${error.toExponential(2)}`);
  return error;
}

function reference(name: string) {
  return readSafetensors(new URL(`../reference/${name}`, import.meta.url).pathname).get('output')!;
}

describe('forward equals the official PyTorch model (eval mode, same weights)', () => {
  it('tiny 64x64 MPII, batch 2: relative error ≤ 1e-5', async () => {
    const { output } = await runCompiled('tiny/w8_64x64.yaml', 2, 1, 2);
    const expected = reference('forward_w8_64x64.safetensors');
    expect(expected.shape).toEqual([2, 16, 16, 16]);
    expect(report('tiny', relativeError(output, expected.data))).toBeLessThanOrEqual(1e-5);
  });

  it('tiny non-square 96x64 COCO, batch 2: relative error ≤ 1e-5', async () => {
    const { output } = await runCompiled('tiny/w8_96x64.yaml', 2, 3, 4);
    const expected = reference('forward_w8_96x64.safetensors');
    expect(expected.shape).toEqual([2, 17, 24, 16]);
    expect(report('non-square', relativeError(output, expected.data))).toBeLessThanOrEqual(1e-5);
  });

  it('tiny 64x64 MPII whichever kernel variant runs every convolution: relative error ≤ 1e-5', async () => {
    const dir = await compileTestExperiment('tiny/w8_64x64.yaml');
    const program = await loadCompiledProgram(dir);
    const gpu = await testGpu();
    const weights = testWeights(lowerTestExperiment('tiny/w8_64x64.yaml'), 1);
    const perImage = program.forward.input.shape.reduce((n, d) => n * d, 1);
    const expected = reference('forward_w8_64x64.safetensors');
    const choices = program.forward.dispatches.flatMap((d) => (d.choice ? [d.choice] : []));
    // Pass i runs each convolution's i-th variant (its last where it has fewer): every variant of every
    // convolution runs in some pass (the 3x3s have the GEMM and two light tilings, the 1x1s four).
    const passes = Math.max(...choices.map((c) => c.variants.length));
    expect(passes).toBe(4);
    for (let pass = 0; pass < passes; pass++) {
      const picked = choices.map((c) => c.variants[Math.min(pass, c.variants.length - 1)]!.name);
      const kernels = Object.fromEntries(choices.map((c, i) => [c.key, { variant: picked[i]!, ms: {} }]));
      const tuning: TuningFile = {
        format: 'hrnetc-tuning',
        version: 1,
        adapter: gpu.adapterDescription,
        experiment: program.forward.experiment,
        batch: 2,
        kernels,
      };
      const runner = await ForwardRunner.forCompiled(gpu, { ...program, tuning }, weights);
      const counts: Record<string, number> = {};
      for (const name of picked) counts[name] = (counts[name] ?? 0) + 1;
      expect(runner.kernelChoice!.variantCounts).toEqual(counts);
      const output = await runner.run(testInput(perImage * 2, 2), 2);
      runner.destroy();
      const label = `tiny ${Object.keys(counts).join(' + ')}`;
      expect(report(label, relativeError(output, expected.data))).toBeLessThanOrEqual(1e-5);
    }
  });

  it('W32 MPII 256x256: relative error ≤ 1e-4, at most one dispatch per conv layer', {
    timeout: 1_200_000,
  }, async () => {
    const { output, manifest } = await runCompiled('mpii/w32_256x256.yaml', 1, 5, 6);
    const expected = reference('forward_w32_256x256.safetensors');
    expect(report('W32', relativeError(output, expected.data))).toBeLessThanOrEqual(1e-4);
    expect(manifest.dispatches).toBeLessThanOrEqual(293);
  });
});
