/**
 * Where the inference convolution reads its packed weights from, on this adapter: uniform-binding
 * windows (one dispatch per window, as many as the weight needs, up to 4), or storage with each load
 * shared across a subgroup of 8 lanes (one dispatch), or storage loaded by every lane. W32's 3×3
 * stride-1 convolutions of 32 and 64 channels at COCO's and MPII's sizes, batch 1 and 8; GPU time per
 * convolution (timestamps, the smallest of several runs of 10 back-to-back convolutions).
 *
 * usage: npm run bench:weight-loads
 */
import {
  chooseDirectTiling,
  type DirectConvTiling,
  directConvBindings,
  directConvWorkgroups,
  directWeightWindows,
  generateDirectConvKernel,
  subgroupShare,
} from '../compiler/codegen/wgsl/conv-direct.ts';
import { type ConvKernelSpec, convKernelSpec } from '../compiler/codegen/wgsl/conv-gemm.ts';
import { openGpu } from '../runtime/gpu/adapter.ts';
import { standaloneBindings } from '../runtime/gpu/standalone-dispatch.ts';
import { timePassesSettled } from '../runtime/gpu/timed-passes.ts';
import { workgroupCounts } from '../runtime/workgroups.ts';
import { printTable } from './table.ts';

const gpu = await openGpu();
const { device } = gpu;
const repeats = 10;

const shapes: [number, number, number][] = [
  [32, 64, 48],
  [64, 32, 24],
  [32, 64, 64],
  [64, 32, 32],
];

/** Milliseconds of one convolution, all its windows included. */
async function timeConv(spec: ConvKernelSpec, tiling: DirectConvTiling, batch: number, shared?: number) {
  const wgsl = generateDirectConvKernel(spec, tiling, 'packed', shared);
  const module = device.createShaderModule({ code: wgsl });
  const pipeline = await device.createComputePipelineAsync({
    layout: 'auto',
    compute: { module, entryPoint: 'main' },
  });
  const windows = directWeightWindows(spec, tiling);
  const weightValues = windows
    ? (windows.count * windows.bytes) / 4
    : Math.ceil(spec.outChannels / tiling.channels) * tiling.channels * spec.inChannels * 9;
  const sizes = directConvBindings(spec, 'packed', tiling).map((b) => {
    if (b.name === 'weight') return weightValues;
    if (b.name === 'bias') return Math.ceil(spec.outChannels / 4) * 4;
    return batch * spec.inChannels * spec.height * spec.width;
  });
  const bound = standaloneBindings(
    device,
    pipeline,
    batch,
    sizes.map((n) => new Float32Array(n).fill(0.01)),
    windows ? { value: 2, windows } : undefined,
  );
  const groups = workgroupCounts({ kind: 'tiles', ...directConvWorkgroups(spec, tiling, 'packed') }, batch);
  const times = await timePassesSettled(
    device,
    3,
    (pass) => {
      pass.setPipeline(pipeline);
      for (let r = 0; r < repeats; r++)
        for (const group of bound.groups) {
          pass.setBindGroup(0, group);
          pass.dispatchWorkgroups(...groups);
        }
    },
    'a weight-load comparison',
  );
  bound.destroy();
  return { ms: Math.min(...times) / repeats, windows: windows?.count ?? 0 };
}

const rows: string[][] = [
  [
    'conv',
    'batch',
    'windows',
    'uniform windows (ms)',
    'storage, shared (ms)',
    'storage (ms)',
    'windows ÷ shared',
  ],
];
for (const batch of [1, 8]) {
  for (const [channels, height, width] of shapes) {
    const spec = convKernelSpec({ inChannels: channels, outChannels: channels, height, width, relu: true });
    const tiling = chooseDirectTiling(spec);
    const windowed = await timeConv(spec, { ...tiling, maxWindows: 4 }, batch);
    const shared = await timeConv(spec, { ...tiling, maxWindows: 0 }, batch, subgroupShare);
    const plain = await timeConv(spec, { ...tiling, maxWindows: 0 }, batch);
    rows.push([
      `3x3 ${channels}→${channels} ${height}x${width}`,
      String(batch),
      String(windowed.windows),
      windowed.ms.toFixed(2),
      shared.ms.toFixed(2),
      plain.ms.toFixed(2),
      `${(windowed.ms / shared.ms).toFixed(2)}×`,
    ]);
    console.log(rows.at(-1)!.join('  '));
  }
}
printTable(
  rows,
  `${gpu.adapterDescription}: GPU ms per convolution (the default is windows only for one window)`,
);
process.exit(0);
