import { describe, expect, it } from 'vitest';
import { relativeError } from '../../common/relative-error.ts';
import type { KernelBinding } from '../../compiler/codegen/wgsl/bindings.ts';
import {
  batchNormGammaGradKernel,
  batchStatsKernel,
  channelReductionWorkgroups,
  channelSumKernel,
  partialSumKernel,
  partialSumWorkgroups,
} from '../../compiler/codegen/wgsl/train/channel-reductions.ts';
import {
  batchNormInputGradKernel,
  batchNormTrainKernel,
  pointwiseMaxGroups,
  reluGradIterations,
  reluGradKernel,
} from '../../compiler/codegen/wgsl/train/pointwise-train.ts';
import type { Node } from '../../compiler/ir/graph.ts';
import { evaluateOp, type Tensor64 } from '../../compiler/ir/interpret.ts';
import { workgroupCounts } from '../../runtime/workgroups.ts';
import { randomSource } from '../helpers/random.ts';
import { runKernel, runKernelReadAll } from '../helpers/run-kernel.ts';

const { tensor: randomTensor } = randomSource(20261201);
const eps = 1e-5;
const f32 = (t: Tensor64) => Float32Array.from(t.data);
// The reference sees exactly the float32 values the kernel sees.
const rounded = (t: Tensor64): Tensor64 => ({ shape: t.shape, data: Float64Array.from(f32(t)) });
/** runKernel checks only the count; these kernels declare their own bindings. */
const bindings = (n: number): KernelBinding[] =>
  Array.from({ length: n }, (_, i) => ({ name: `b${i}`, access: 'read_write', element: 'f32' }));

function node(op: Node['op'], shape: (number | 'N')[], attrs: Node['attrs'] = { eps }): Node {
  return { id: 0, op, inputs: [], type: { dtype: 'f32', shape }, attrs, module: 'test' };
}
const relu = (t: Tensor64) => Float64Array.from(t.data, (v) => Math.max(v, 0));

// Planes under one workgroup of lanes and not a multiple of 8, exactly 64, and beyond 64; planes of
// 48 and 24 (HRNet's 8x6 and 4x6, not powers of two); channels over one reduction workgroup, in a
// whole number of them and not (the last one then has lanes without a channel); values over one
// per-value workgroup (64 · 64 vec4s, or values), as vec4s and not.
const shapes: [number, number, number, number][] = [
  [2, 3, 3, 5],
  [1, 8, 4, 4],
  [3, 5, 8, 8],
  [2, 4, 9, 9],
  [2, 40, 8, 6],
  [1, 17, 4, 6],
  [1, 130, 2, 3],
  [2, 8, 32, 40],
  // Several rounds of channels per workgroup, the last block partly past the channels: vec4 planes
  // (5 rounds of one channel), then planes of values (2 rounds of 2 channels).
  [2, 37, 32, 32],
  [1, 19, 9, 9],
  [1, 3, 45, 45],
];

describe('training channel kernels equal the float64 interpreter', () => {
  for (const [batch, c, h, w] of shapes) {
    const plane = h * w;
    const x = randomTensor([batch, c, h, w]);
    const dy = randomTensor([batch, c, h, w]);
    const mask = randomTensor([batch, c, h, w]);
    const gamma = randomTensor([c]);
    const beta = randomTensor([c]);
    const stats = rounded(evaluateOp(node('bn_stats', [2, c]), [x], batch));
    const perChannel = workgroupCounts(channelReductionWorkgroups(c, plane), batch);
    const label = `${batch}x${c}x${h}x${w}`;

    it(`batch statistics: ${label}`, async () => {
      const actual = await runKernel(
        batchStatsKernel(c, plane),
        bindings(2),
        [new Float32Array(2 * c), f32(x)],
        batch,
        perChannel,
      );
      expect(relativeError(actual, stats.data)).toBeLessThanOrEqual(1e-6);
    });

    // The planner's fusion with bn_running: the same statistics, and the running update as bn_running's.
    it(`batch statistics with the running update: ${label}`, async () => {
      const [runningMean, runningVar] = [randomTensor([c]), randomTensor([c])].map(rounded);
      const momentum = 0.1;
      const running = evaluateOp(
        node('bn_running', [2, c], { momentum, plane }),
        [runningMean!, runningVar!, stats],
        batch,
      );
      const [actualStats, , actualMean, actualVar] = await runKernelReadAll(
        batchStatsKernel(c, plane, momentum),
        bindings(4),
        [new Float32Array(2 * c), f32(x), f32(runningMean!), f32(runningVar!)],
        batch,
        perChannel,
      );
      expect(relativeError(actualStats!, stats.data)).toBeLessThanOrEqual(1e-6);
      expect(relativeError(actualMean!, running.data.subarray(0, c))).toBeLessThanOrEqual(1e-6);
      expect(relativeError(actualVar!, running.data.subarray(c))).toBeLessThanOrEqual(1e-6);
    });

    it(`training batch norm with the ReLU that reads it: ${label}`, async () => {
      const expected = evaluateOp(node('bn_train', ['N', c, h, w]), [x, stats, gamma, beta], batch);
      const actual = await runKernel(
        batchNormTrainKernel(c, plane, eps, true),
        bindings(5),
        [new Float32Array(x.data.length), f32(x), f32(stats), f32(gamma), f32(beta)],
        batch,
        perChannel,
      );
      expect(relativeError(actual, relu(expected))).toBeLessThanOrEqual(1e-6);
    });

    // The planner's fusion with the add that is the BN's only reader (and that add's ReLU).
    for (const relu of [false, true]) {
      it(`training batch norm, add${relu ? ' and ReLU' : ''}: ${label}`, async () => {
        const normalized = evaluateOp(node('bn_train', ['N', c, h, w]), [x, stats, gamma, beta], batch);
        const sum = evaluateOp(node('add', ['N', c, h, w]), [normalized, dy], batch);
        const actual = await runKernel(
          batchNormTrainKernel(c, plane, eps, relu, true),
          bindings(6),
          [new Float32Array(x.data.length), f32(x), f32(stats), f32(gamma), f32(beta), f32(dy)],
          batch,
          perChannel,
        );
        expect(
          relativeError(actual, relu ? Float64Array.from(sum.data, (v) => Math.max(v, 0)) : sum.data),
        ).toBeLessThanOrEqual(1e-6);
      });
    }

    it(`training batch norm: ${label}`, async () => {
      const expected = evaluateOp(node('bn_train', ['N', c, h, w]), [x, stats, gamma, beta], batch);
      const actual = await runKernel(
        batchNormTrainKernel(c, plane, eps),
        bindings(5),
        [new Float32Array(x.data.length), f32(x), f32(stats), f32(gamma), f32(beta)],
        batch,
        perChannel,
      );
      expect(relativeError(actual, expected.data)).toBeLessThanOrEqual(1e-6);
    });

    for (const masked of [false, true]) {
      const maskArgs = masked ? [mask] : [];
      const suffix = `${masked ? ', ReLU-masked' : ''}: ${label}`;

      it(`channel sum${suffix}`, async () => {
        const expected = evaluateOp(node('channel_sum', [c]), [dy, ...maskArgs], batch);
        const actual = await runKernel(
          channelSumKernel(c, plane, masked),
          bindings(masked ? 3 : 2),
          [new Float32Array(c), f32(dy), ...maskArgs.map(f32)],
          batch,
          perChannel,
        );
        expect(relativeError(actual, expected.data)).toBeLessThanOrEqual(1e-6);
      });

      it(`BN γ gradient${suffix}`, async () => {
        const args = [dy, x, stats, ...maskArgs];
        const expected = evaluateOp(node('bn_grad_gamma', [c]), args, batch);
        const actual = await runKernel(
          batchNormGammaGradKernel(c, plane, eps, masked),
          bindings(args.length + 1),
          [new Float32Array(c), ...args.map(f32)],
          batch,
          perChannel,
        );
        expect(relativeError(actual, expected.data)).toBeLessThanOrEqual(1e-5);
      });

      it(`BN γ and β gradients in one launch${suffix}`, async () => {
        const args = [dy, x, stats, ...maskArgs];
        const gammaGrad = evaluateOp(node('bn_grad_gamma', [c]), args, batch);
        const betaGrad = evaluateOp(node('channel_sum', [c]), [dy, ...maskArgs], batch);
        const [actualGamma, actualBeta] = await runKernelReadAll(
          batchNormGammaGradKernel(c, plane, eps, masked, true),
          bindings(args.length + 2),
          [new Float32Array(c), new Float32Array(c), ...args.map(f32)],
          batch,
          perChannel,
        );
        expect(relativeError(actualGamma!, gammaGrad.data)).toBeLessThanOrEqual(1e-5);
        expect(relativeError(actualBeta!, betaGrad.data)).toBeLessThanOrEqual(1e-6);
      });

      it(`BN input gradient${suffix}`, async () => {
        const dGamma = rounded(evaluateOp(node('bn_grad_gamma', [c]), [dy, x, stats, ...maskArgs], batch));
        const dBeta = rounded(evaluateOp(node('channel_sum', [c]), [dy, ...maskArgs], batch));
        const args = [dy, x, stats, gamma, dGamma, dBeta, ...maskArgs];
        const expected = evaluateOp(node('bn_grad_input', ['N', c, h, w]), args, batch);
        const actual = await runKernel(
          batchNormInputGradKernel(c, plane, eps, masked),
          bindings(args.length + 1),
          [new Float32Array(x.data.length), ...args.map(f32)],
          batch,
          perChannel,
        );
        expect(relativeError(actual, expected.data)).toBeLessThanOrEqual(1e-5);
      });
    }

    // 3x5 planes of 3 channels: values not in fours (scalar loop); the others as vec4s.
    const reluGradGroups = workgroupCounts(
      {
        kind: 'grid-stride',
        elementsPerImage: reluGradIterations(c * plane),
        threads: 256,
        maxGroups: pointwiseMaxGroups,
      },
      batch,
    );
    it(`ReLU gradient: ${label}`, async () => {
      const expected = evaluateOp(node('relu_grad', ['N', c, h, w]), [dy, mask], batch);
      const actual = await runKernel(
        reluGradKernel(c * plane),
        bindings(3),
        [new Float32Array(dy.data.length), f32(dy), f32(mask)],
        batch,
        reluGradGroups,
      );
      expect(relativeError(actual, expected.data)).toBeLessThanOrEqual(0);
    });

    // The planner's fusion with the add of two gradients that only this ReLU gradient reads.
    it(`sum of two gradients and ReLU gradient: ${label}`, async () => {
      const sum = evaluateOp(node('add', ['N', c, h, w]), [dy, x], batch);
      const expected = evaluateOp(node('relu_grad', ['N', c, h, w]), [rounded(sum), mask], batch);
      const actual = await runKernel(
        reluGradKernel(c * plane, true),
        bindings(4),
        [new Float32Array(dy.data.length), f32(dy), f32(x), f32(mask)],
        batch,
        reluGradGroups,
      );
      expect(relativeError(actual, expected.data)).toBeLessThanOrEqual(0);
    });
  }
});

describe('the sum of split weight-gradient partials', () => {
  // 4·9 values go as vec4s, 5·3 one by one; the sum is in slice order, as float32 rounds it.
  for (const [elements, splits] of [
    [36, 3],
    [15, 2],
    [260, 16],
  ] as const) {
    it(`${splits} slices of ${elements} values`, async () => {
      const partial = f32(randomTensor([splits, elements]));
      const expected = Array.from({ length: elements }, (_, i) => {
        let sum = 0;
        for (let s = 0; s < splits; s++) sum = Math.fround(sum + partial[s * elements + i]!);
        return sum;
      });
      const actual = await runKernel(
        partialSumKernel(elements, splits),
        bindings(2),
        [new Float32Array(elements), partial],
        1,
        workgroupCounts(partialSumWorkgroups(elements), 1),
      );
      expect(Array.from(actual)).toEqual(expected);
    });
  }
});
