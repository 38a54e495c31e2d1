import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parameters } from '../../compiler/ir/graph.ts';
import { summarize } from '../../compiler/ir/summary.ts';
import { verifyGraph } from '../../compiler/ir/verify.ts';
import { lowerTestExperiment } from '../helpers/experiments.ts';

describe('pose_hrnet lowering matches the official model', () => {
  it.each([
    ['coco/w32_256x192.yaml', 28_536_113, 7.12],
    ['coco/w32_384x288.yaml', 28_536_113, 16.02],
    ['coco/w48_256x192.yaml', 63_595_745, 14.61],
    ['coco/w48_384x288.yaml', 63_595_745, 32.88],
  ])('%s: %d params, %d GFLOPs (official README)', (file, params, gflops) => {
    const summary = summarize(lowerTestExperiment(file));
    expect(summary.params).toBe(params);
    expect(summary.gflops).toBe(gflops);
  });

  it('MPII W32 256x256: 9.49 GFLOPs, 16 joints', () => {
    const summary = summarize(lowerTestExperiment('mpii/w32_256x256.yaml'));
    expect(summary.gflops).toBe(9.49);
    // 28.5M like COCO, minus the final layer's 17th joint: 32 weights + 1 bias.
    expect(summary.params).toBe(28_536_113 - 33);
  });

  it('W32 has 293 conv2d, 292 batch_norm and 28 upsample ops, and verifies', () => {
    const graph = lowerTestExperiment('coco/w32_256x192.yaml');
    const summary = summarize(graph);
    expect(summary.ops).toMatchObject({
      conv2d: 293,
      batch_norm: 292,
      upsample_nearest: 28,
      input: 1,
      output: 1,
    });
    expect(verifyGraph(graph)).toEqual([]);
  });

  it('parameter names and shapes equal the official state_dict, in order (num_batches_tracked excluded)', () => {
    const official = readFileSync(
      new URL('../reference/pose_hrnet_w32_256x192.keys.jsonl', import.meta.url),
      'utf8',
    )
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { name: string; shape: number[] })
      .filter((entry) => !entry.name.endsWith('.num_batches_tracked'));
    const ours = parameters(lowerTestExperiment('coco/w32_256x192.yaml')).map((p) => ({
      name: p.module,
      shape: p.type.shape,
    }));
    expect(ours).toEqual(official);
    expect(ours.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        'transition2.2.0.0.weight',
        'stage3.1.fuse_layers.2.0.1.1.bias',
        'layer1.0.downsample.1.running_var',
        'final_layer.bias',
      ]),
    );
  });

  it('multi_scale_output=False: the last module of stage4 fuses only into branch 0', () => {
    const graph = lowerTestExperiment('coco/w32_256x192.yaml');
    const modules = new Set(graph.nodes.map((n) => n.module));
    expect(modules.has('stage4.2.fuse_layers.0')).toBe(true);
    expect([...modules].some((m) => m.startsWith('stage4.2.fuse_layers.1'))).toBe(false);
    expect(modules.has('stage4.1.fuse_layers.3')).toBe(true);
  });

  it('sums fuse terms in the official order: x0 (or its term) first, then j = 1..n-1', () => {
    const graph = lowerTestExperiment('tiny/w8_64x64.yaml');
    const adds = graph.nodes.filter((n) => n.op === 'add' && n.module === 'stage3.0.fuse_layers.1');
    expect(adds).toHaveLength(2);
    const moduleOf = (id: number) => graph.nodes[id]!.module;
    // Output 1 = fuse[1][0](x0) + x1, then + fuse[1][2](x2).
    expect(moduleOf(adds[0]!.inputs[0]!)).toBe('stage3.0.fuse_layers.1.0.0.1');
    expect(moduleOf(adds[0]!.inputs[1]!)).toBe('stage3.0.branches.1.0.relu');
    expect(adds[1]!.inputs[0]).toBe(adds[0]!.id);
    expect(moduleOf(adds[1]!.inputs[1]!)).toBe('stage3.0.fuse_layers.1.2.2');
  });

  it('FINAL_CONV_KERNEL 3 pads by 1 and keeps the heatmap size', () => {
    const graph = lowerTestExperiment('tiny/w8_96x64.yaml', ['MODEL.EXTRA.FINAL_CONV_KERNEL', '3']);
    const final = graph.nodes.find((n) => n.module === 'final_layer' && n.op === 'conv2d')!;
    expect(final.attrs).toEqual({ kernel: 3, pad: 1, stride: 1 });
    expect(final.type.shape).toEqual(['N', 17, 24, 16]);
  });

  it('BOTTLENECK stages expand channels by 4; transitions already match, so branches need no downsample', () => {
    const graph = lowerTestExperiment('tiny/w8_64x64.yaml', [
      'MODEL.EXTRA.STAGE2.BLOCK',
      'BOTTLENECK',
      'MODEL.EXTRA.STAGE3.BLOCK',
      'BOTTLENECK',
      'MODEL.EXTRA.STAGE4.BLOCK',
      'BOTTLENECK',
    ]);
    expect(verifyGraph(graph)).toEqual([]);
    const names = parameters(graph).map((p) => p.module);
    expect(names).toContain('stage2.0.branches.0.0.conv3.weight');
    expect(names.filter((n) => n.startsWith('stage') && n.includes('downsample'))).toEqual([]);
    const transition = graph.nodes.find((n) => n.module === 'transition1.0.0')!;
    expect(transition.type.shape[1]).toBe(32);
  });
});
