import { describe, expect, it } from 'vitest';
import { relativeError } from '../../common/relative-error.ts';
import { interpretOutputs } from '../../compiler/ir/interpret.ts';
import { summarize } from '../../compiler/ir/summary.ts';
import { verifyGraph } from '../../compiler/ir/verify.ts';
import { eliminateIdentities } from '../../compiler/passes/eliminate-identities.ts';
import { foldBatchNorm } from '../../compiler/passes/fold-batch-norm.ts';
import { fuseConvEpilogue } from '../../compiler/passes/fuse-conv-epilogue.ts';
import { inferencePasses } from '../../compiler/passes/inference-passes.ts';
import { runPasses } from '../../compiler/passes/pass.ts';
import { lowerTestExperiment } from '../helpers/experiments.ts';
import { testInput, testWeights } from '../helpers/test-weights.ts';

describe('inference passes', () => {
  const graph = lowerTestExperiment('tiny/w8_96x64.yaml');
  const weights = new Map([...testWeights(graph, 7)].map(([name, t]) => [name, t.data]));
  const input = testInput(2 * 3 * 96 * 64, 8);
  const run = (g: typeof graph) => interpretOutputs(g, { batch: 2, input, parameters: weights })[0]!.data;
  const original = run(graph);

  it.each([
    ['fold-batch-norm', [foldBatchNorm]],
    ['fold + fuse', [foldBatchNorm, fuseConvEpilogue]],
    ['all inference passes', inferencePasses],
  ] as const)('%s preserves the function (float64 interpreter)', (_, passes) => {
    const { graph: after } = runPasses(graph, passes);
    expect(verifyGraph(after)).toEqual([]);
    expect(relativeError(run(after), original)).toBeLessThan(1e-12);
  });

  it('leaves only fused convolutions: one kernel per conv layer', () => {
    const { graph: after } = runPasses(graph, inferencePasses);
    const ops = summarize(after).ops;
    expect(ops.fused_conv2d).toBe(summarize(graph).ops.conv2d);
    expect(ops.batch_norm ?? 0).toBe(0);
    expect(ops.add ?? 0).toBe(0);
    expect(ops.relu ?? 0).toBe(0);
    expect(ops.upsample_nearest ?? 0).toBe(0);
  });

  it('keeps the official summation order in fused fuse-layer sums', () => {
    const { graph: after } = runPasses(graph, inferencePasses);
    // Output 2 of stage3: t0 (chain from branch 0, this conv) + t1 (chain from branch 1) + x2.
    const fused = after.nodes.find(
      (n) => n.op === 'fused_conv2d' && n.module === 'stage3.0.fuse_layers.2.0.1.0',
    )!;
    expect(fused.attrs).toMatchObject({ self_index: 0, relu: true, term_scales: [1, 1] });
    expect(after.nodes[fused.inputs[3]!]!.module).toBe('stage3.0.fuse_layers.2.1.0.0');
    expect(after.nodes[fused.inputs[4]!]!.module).toBe('stage3.0.branches.2.0.conv2');
    // Output 0 of stage3 has no conv at full resolution: branch 1's 1x1 conv moves up (input_scale 2).
    const first = after.nodes.find(
      (n) => n.op === 'fused_conv2d' && n.module === 'stage3.0.fuse_layers.0.1.0',
    )!;
    expect(first.attrs).toMatchObject({ self_index: 1, input_scale: 2, term_scales: [1, 4], relu: true });
  });

  it('eliminate-identities removes upsampling by 1 and a ReLU of a ReLU', async () => {
    const { parseGraph } = await import('../../compiler/ir/parse.ts');
    const { makeSourceText } = await import('../../compiler/diagnostics/source-text.ts');
    const text = `graph g {
  %0: f32[N,2,4,4] = input()  # input
  %1: f32[N,2,4,4] = upsample_nearest(%0) {scale=1}  # up
  %2: f32[N,2,4,4] = relu(%1)  # r1
  %3: f32[N,2,4,4] = relu(%2)  # r2
  %4: f32[N,2,4,4] = output(%3)  # output
}`;
    const parsed = parseGraph(makeSourceText('g.ir', text));
    if (!parsed.ok) throw new Error('parse failed');
    const after = eliminateIdentities.run(parsed.graph);
    expect(after.nodes.map((n) => n.op)).toEqual(['input', 'relu', 'output']);
  });
});
