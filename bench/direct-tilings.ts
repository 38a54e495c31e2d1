/**
 * bench/direct-tilings: the training step's direct convolution kernels (the forward reading the
 * official weights, the input gradient reading them flipped and transposed, loads shared by
 * subgroups where the device has them) at W32 COCO's four 3×3 stride-1 shapes, in every tiling the
 * direct kernel is compiled with (16 channels × 16, 12 or 8 pixels; 8 channels × 8 or 4), on this
 * adapter: GPU time per launch (timestamps; the smallest of several runs of 5, alternating the
 * tilings), GFLOP/s, and how the one chooseTrainingDirectTiling picks compares. Every tiling sums each
 * output in the same order, so all give identical values (test/codegen/train-kernels.test.ts checks
 * the kernels against the float64 interpreter).
 *
 * usage: npm run bench:direct-tilings [-- --batch B]   (default 4)
 */

import {
  chooseTrainingDirectTiling,
  type DirectConvTiling,
  directConvBindings,
  directConvWorkgroups,
  directTilings,
  generateDirectConvKernel,
  lightTilings,
  sharesWeightLoads,
  subgroupShare,
} from '../compiler/codegen/wgsl/conv-direct.ts';
import { type ConvKernelSpec, convKernelSpec } from '../compiler/codegen/wgsl/conv-gemm.ts';
import { openGpu } from '../runtime/gpu/adapter.ts';
import { standaloneBindings } from '../runtime/gpu/standalone-dispatch.ts';
import { workgroupCounts } from '../runtime/workgroups.ts';
import { alternate, launchTimer } from './launch-timing.ts';
import { optionValue } from './options.ts';
import { printTable } from './table.ts';

const gpu = await openGpu();
const { device } = gpu;
const batch = Number(optionValue('--batch') ?? 4);
const rounds = 4;

const shapes: ConvKernelSpec[] = [
  [32, 64, 48],
  [64, 32, 24],
  [128, 16, 12],
  [256, 8, 6],
].map(([channels, height, width]) =>
  convKernelSpec({
    inChannels: channels!,
    outChannels: channels!,
    height: height!,
    width: width!,
    hasBias: false,
  }),
);
const kinds = ['official', 'flipped-transposed'] as const;
const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);

/** A launch of one tiling, ready to time; undefined where the tiling cannot run the shape. */
async function prepare(spec: ConvKernelSpec, tiling: DirectConvTiling, weights: (typeof kinds)[number]) {
  const shared =
    device.features.has('subgroups') && sharesWeightLoads(spec, tiling, weights, subgroupShare)
      ? subgroupShare
      : undefined;
  let code: string;
  try {
    code = generateDirectConvKernel(spec, tiling, weights, shared);
  } catch {
    return undefined;
  }
  const pipeline = await device.createComputePipelineAsync({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code }), entryPoint: 'main' },
  });
  const sizes: Record<string, number> = {
    weight: spec.outChannels * spec.inChannels * 9,
    x: batch * spec.inChannels * spec.height * spec.width,
    out: batch * spec.outChannels * spec.outHeight * spec.outWidth,
  };
  const bound = standaloneBindings(
    device,
    pipeline,
    batch,
    directConvBindings(spec, weights, tiling).map((b) => random(sizes[b.name] ?? 1)),
  );
  const groups = workgroupCounts({ kind: 'tiles', ...directConvWorkgroups(spec, tiling, weights) }, batch);
  return {
    bound,
    time: launchTimer(device, pipeline, bound.groups[0]!, groups, 'a direct-tiling comparison'),
  };
}

const rows = [['conv', 'kernel', 'tiling', 'ms', 'GFLOP/s', 'chosen ÷ this']];
for (const spec of shapes) {
  const chosen = chooseTrainingDirectTiling(spec);
  const flops = 2 * batch * spec.outChannels * spec.inChannels * 9 * spec.outHeight * spec.outWidth;
  for (const weights of kinds) {
    const tilings = [...directTilings, ...lightTilings];
    const prepared = [];
    for (const t of tilings) {
      const p = await prepare(spec, t, weights);
      if (p) prepared.push({ tiling: t, ...p });
    }
    const best = await alternate(prepared, rounds);
    const at = prepared.findIndex(
      (p) => p.tiling.pixels === chosen.pixels && p.tiling.channels === chosen.channels,
    );
    prepared.forEach((p, i) => {
      p.bound.destroy();
      const isChosen = i === at;
      rows.push([
        `3x3 ${spec.inChannels}→${spec.outChannels} ${spec.height}x${spec.width}`,
        weights === 'official' ? 'forward' : 'input gradient',
        `${isChosen ? 'chosen: ' : ''}${p.tiling.channels} channels × ${p.tiling.pixels} pixels`,
        best[i]!.toFixed(2),
        (flops / best[i]! / 1e6).toFixed(1),
        at < 0 ? '' : `${(best[at]! / best[i]!).toFixed(2)}×`,
      ]);
      console.log(rows.at(-1)!.join('  '));
    });
  }
}
printTable(
  rows,
  `${gpu.adapterDescription}: GPU ms per training-step direct convolution at batch ${batch}, by tiling`,
);
process.exit(0);
