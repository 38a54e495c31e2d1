/**
 * The direct weight gradient's tiling, on this adapter: the earlier one (8 pixels per step, one input
 * channel per lane) against what chooseDirectWeightGradTiling now picks (fewest idle pixels in a row's
 * last step; a 1x1's lane takes 4 input channels, 4 pixels at a time), at W32's 3×3 stride-1 shapes of
 * COCO (rows of 48, 24, 12 and 6), one of MPII's, and stage 1's 1x1s, batch 1 and 4. GPU time per kernel (timestamps; the smallest of several runs of 5,
 * alternating the two), GFLOP/s of the chosen one, and the ratio. Both sum every weight in the same
 * order, so they give identical results (test/codegen/train-kernels.test.ts checks each against the
 * float64 interpreter).
 *
 * With --sweep [--batch B] (default 4) it times instead, at W32's four 3×3 stride-1 shapes, the chosen
 * tiling against alternatives one parameter apart (pixels per step, output channels and input
 * channels per lane, lanes, slices), alternating them: whether another tiling would be worth choosing
 * on this adapter.
 *
 * usage: npm run bench:weight-gradients [-- --sweep [--batch B]]
 */

import { subgroupShare } from '../compiler/codegen/wgsl/conv-direct.ts';
import {
  chooseDirectWeightGradTiling,
  type DirectWeightGradTiling,
  directWeightGradWorkgroups,
  generateDirectWeightGradKernel,
} from '../compiler/codegen/wgsl/train/conv-grad-weight-direct.ts';
import type { ConvShape } from '../compiler/codegen/wgsl/train/conv-train.ts';
import { openGpu } from '../runtime/gpu/adapter.ts';
import { standaloneBindings } from '../runtime/gpu/standalone-dispatch.ts';
import { alternate, launchTimer } from './launch-timing.ts';
import { optionValue } from './options.ts';
import { printTable } from './table.ts';

const gpu = await openGpu();
const { device } = gpu;
const rounds = 4;

/** A stride-1 k×k convolution, padded to keep the height × width plane. */
const sameSize = (
  inChannels: number,
  outChannels: number,
  height: number,
  width: number,
  kernel = 3,
): ConvShape => ({
  inChannels,
  height,
  width,
  outChannels,
  outHeight: height,
  outWidth: width,
  kernel,
  stride: 1,
  pad: (kernel - 1) / 2,
});
const square3x3 = (channels: number, height: number, width: number) =>
  sameSize(channels, channels, height, width);

const shapes = [
  square3x3(32, 64, 48),
  square3x3(64, 32, 24),
  square3x3(128, 16, 12),
  square3x3(256, 8, 6),
  square3x3(128, 16, 16),
  sameSize(64, 256, 64, 48, 1),
  sameSize(256, 64, 64, 48, 1),
];

/** The tiling every weight gradient of this size took before: 8 pixels, one input channel per lane. */
const earlier = (s: ConvShape, chosen: DirectWeightGradTiling): DirectWeightGradTiling => ({
  lanes: Math.min(64, 2 ** Math.ceil(Math.log2(s.inChannels))),
  channels: chosen.channels,
  pixels: Math.min(8, s.outWidth),
  splits: chosen.splits,
});

/** A pipeline and its bindings for one tiling, ready to dispatch. */
async function prepare(s: ConvShape, t: DirectWeightGradTiling, batch: number) {
  const shared =
    device.features.has('subgroups') && t.lanes % subgroupShare === 0 ? subgroupShare : undefined;
  const pipeline = await device.createComputePipelineAsync({
    layout: 'auto',
    compute: {
      module: device.createShaderModule({ code: generateDirectWeightGradKernel(s, t, shared) }),
      entryPoint: 'main',
    },
  });
  const weights = s.outChannels * s.inChannels * s.kernel * s.kernel;
  const bound = standaloneBindings(device, pipeline, batch, [
    new Float32Array(t.splits * weights),
    new Float32Array(batch * s.inChannels * s.height * s.width).fill(0.01),
    new Float32Array(batch * s.outChannels * s.outHeight * s.outWidth).fill(0.02),
  ]);
  const groups = directWeightGradWorkgroups(s, t);
  return {
    bound,
    time: launchTimer(device, pipeline, bound.groups[0]!, groups, 'a weight-gradient comparison'),
  };
}

const flopsOf = (s: ConvShape, batch: number) =>
  2 * batch * s.outChannels * s.inChannels * s.kernel ** 2 * s.outHeight * s.outWidth;

/** Tilings one parameter away from `t` (the same tiling's duplicates left out). */
function neighbours(s: ConvShape, t: DirectWeightGradTiling): DirectWeightGradTiling[] {
  const changes: Partial<DirectWeightGradTiling>[] = [
    ...[4, 6, 8, 12, 16].map((pixels) => ({ pixels: Math.min(pixels, s.outWidth) })),
    { channels: 8 },
    { channels: 32, pixels: 4 },
    { lanes: t.lanes / 2 },
    { splits: Math.max(1, t.splits / 2) },
    { splits: t.splits * 2 },
    { inputs: 2, lanes: t.lanes / 2, channels: 8 },
  ];
  const key = (x: DirectWeightGradTiling) =>
    JSON.stringify([x.lanes, x.inputs ?? 1, x.channels, x.pixels, x.splits]);
  const seen = new Set([key(t)]);
  return changes
    .map((change) => ({ ...t, ...change }))
    .filter((x) => x.lanes >= 8 && !seen.has(key(x)) && seen.add(key(x)));
}

const describeTiling = (t: DirectWeightGradTiling) =>
  `${t.lanes} lanes, ${t.inputs ?? 1} in × ${t.channels} out × ${t.pixels} px, ${t.splits} slices`;

if (process.argv.includes('--sweep')) {
  const batch = Number(optionValue('--batch') ?? 4);
  const rows = [['conv', 'tiling', 'ms', 'GFLOP/s', 'chosen ÷ this']];
  for (const s of shapes.slice(0, 4)) {
    const chosen = chooseDirectWeightGradTiling(s);
    const tilings = [chosen, ...neighbours(s, chosen)];
    const prepared = [];
    for (const t of tilings) prepared.push(await prepare(s, t, batch));
    const best = await alternate(prepared, rounds);
    for (const p of prepared) p.bound.destroy();
    tilings.forEach((t, i) => {
      rows.push([
        `3x3 ${s.inChannels}→${s.outChannels} ${s.height}x${s.width}`,
        `${i === 0 ? 'chosen: ' : ''}${describeTiling(t)}`,
        best[i]!.toFixed(2),
        (flopsOf(s, batch) / best[i]! / 1e6).toFixed(1),
        `${(best[0]! / best[i]!).toFixed(2)}×`,
      ]);
      console.log(rows.at(-1)!.join('  '));
    });
  }
  printTable(
    rows,
    `${gpu.adapterDescription}: GPU ms per weight gradient at batch ${batch}, tilings one step from the chosen one`,
  );
  process.exit(0);
}

const rows: string[][] = [
  ['conv', 'batch', 'pixels × inputs', 'earlier (ms)', 'chosen (ms)', 'chosen GFLOP/s', 'earlier ÷ chosen'],
];
for (const batch of [1, 4]) {
  for (const s of shapes) {
    const chosen = chooseDirectWeightGradTiling(s);
    const eight = earlier(s, chosen);
    const [a, b] = [await prepare(s, eight, batch), await prepare(s, chosen, batch)];
    const [eightMs, chosenMs] = (await alternate([a, b], rounds)) as [number, number];
    a.bound.destroy();
    b.bound.destroy();
    const flops = flopsOf(s, batch);
    rows.push([
      `${s.kernel}x${s.kernel} ${s.inChannels}→${s.outChannels} ${s.height}x${s.width}`,
      String(batch),
      `${chosen.pixels} × ${chosen.inputs ?? 1}`,
      eightMs.toFixed(2),
      chosenMs.toFixed(2),
      (flops / chosenMs / 1e6).toFixed(1),
      `${(eightMs / chosenMs).toFixed(2)}×`,
    ]);
    console.log(rows.at(-1)!.join('  '));
  }
}
printTable(rows, `${gpu.adapterDescription}: GPU ms per weight gradient (partial sums not included)`);
process.exit(0);
