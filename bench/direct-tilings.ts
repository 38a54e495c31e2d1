/**
 * bench/direct-tilings: the direct convolution kernel in every tiling it is compiled with (16
 * channels × 16, 12 or 8 pixels; 8 channels × 8 or 4) at W32's 3×3 stride-1 shapes (COCO's four, and
 * MPII's 8×8 branch), as each program runs it: the inference forward reading packed weights, and the
 * training step's forward and input gradient reading the official weights (flipped and transposed for
 * the input gradient), loads shared by subgroups where the device has them. GPU time per launch
 * (timestamps; the smallest of several runs of 5, alternating the tilings), GFLOP/s, and how the
 * tiling chosen by default (chooseDirectTiling for inference, chooseTrainingDirectTiling for training)
 * compares. Every tiling sums each output in the same order, so all give identical values
 * (test/codegen/conv-direct.test.ts and train-kernels.test.ts check the kernels against the float64
 * interpreter).
 *
 * usage: npm run bench:direct-tilings [-- --batch B]   (default 4)
 */

import {
  chooseDirectTiling,
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
  [256, 8, 8],
].map(([channels, height, width]) =>
  convKernelSpec({
    inChannels: channels!,
    outChannels: channels!,
    height: height!,
    width: width!,
    hasBias: false,
  }),
);
const kinds = ['packed', 'official', 'flipped-transposed'] as const;
const kindNames = {
  packed: 'inference forward',
  official: 'training forward',
  'flipped-transposed': 'training input gradient',
};
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
    weight: 4 + spec.outChannels * spec.inChannels * 9,
    x: batch * spec.inChannels * spec.height * spec.width,
    out: batch * spec.outChannels * spec.outHeight * spec.outWidth,
  };
  const values = directConvBindings(spec, weights, tiling).map((b) =>
    random(b.uniformLength ? 4 * b.uniformLength : (sizes[b.name] ?? 1)),
  );
  // A packed weight's first vec4 (a window's header, or padding) names channel block 0.
  if (weights === 'packed')
    values[directConvBindings(spec, weights, tiling).findIndex((b) => b.name === 'weight')]!.fill(0, 0, 4);
  const bound = standaloneBindings(device, pipeline, batch, values);
  const groups = workgroupCounts({ kind: 'tiles', ...directConvWorkgroups(spec, tiling, weights) }, batch);
  return {
    bound,
    time: launchTimer(device, pipeline, bound.groups[0]!, groups, 'a direct-tiling comparison'),
  };
}

const rows = [['conv', 'kernel', 'tiling', 'ms', 'GFLOP/s', 'chosen ÷ this']];
for (const spec of shapes) {
  const flops = 2 * batch * spec.outChannels * spec.inChannels * 9 * spec.outHeight * spec.outWidth;
  for (const weights of kinds) {
    const chosen = weights === 'packed' ? chooseDirectTiling(spec) : chooseTrainingDirectTiling(spec);
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
        kindNames[weights],
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
