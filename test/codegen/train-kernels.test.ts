import { describe, expect, it } from 'vitest';
import { relativeError } from '../../common/relative-error.ts';
import {
  chooseDirectTiling,
  directConvBindings,
  directConvWorkgroups,
  directTilings,
  generateDirectConvKernel,
  lightTilings,
  sharesWeightLoads,
} from '../../compiler/codegen/wgsl/conv-direct.ts';
import type { ConvKernelSpec } from '../../compiler/codegen/wgsl/conv-gemm.ts';
import {
  chooseDirectWeightGradTiling,
  directWeightGradBindings,
  directWeightGradWorkgroups,
  generateDirectWeightGradKernel,
  readsVectorRows,
} from '../../compiler/codegen/wgsl/train/conv-grad-weight-direct.ts';
import {
  type ConvShape,
  convForwardSpec,
  convGradInputSpec,
  convGradWeightSpec,
  inputGradientConv,
  strideClasses,
  weightGradientSplits,
} from '../../compiler/codegen/wgsl/train/conv-train.ts';
import { type GemmSpec, gemmTiling, generateGemmKernel } from '../../compiler/codegen/wgsl/train/gemm.ts';
import type { Node } from '../../compiler/ir/graph.ts';
import { evaluateOp, type Tensor64 } from '../../compiler/ir/interpret.ts';
import type { Dim } from '../../compiler/ir/tensor-type.ts';
import { workgroupCounts } from '../../runtime/workgroups.ts';
import { randomSource } from '../helpers/random.ts';
import { runKernel } from '../helpers/run-kernel.ts';

// Values are float32-representable, so that the reference sees what the kernel sees.
const { pick, between, tensor: randomTensor } = randomSource(20261127);

function randomConvShape(): ConvShape {
  for (;;) {
    const kernel = pick([1, 3]);
    const stride = pick([1, 2, 2]);
    const pad = kernel === 3 ? pick([0, 1, 1]) : 0;
    const height = between(1, 17);
    const width = between(1, 17);
    const outHeight = Math.floor((height + 2 * pad - kernel) / stride) + 1;
    const outWidth = Math.floor((width + 2 * pad - kernel) / stride) + 1;
    if (outHeight < 1 || outWidth < 1) continue;
    return {
      inChannels: pick([1, 3, 8, 13, 16, 64]),
      height,
      width,
      outChannels: pick([1, 4, 8, 13, 32, 70]),
      outHeight,
      outWidth,
      kernel,
      stride,
      pad,
    };
  }
}

function node(op: Node['op'], s: ConvShape, shape: Dim[]): Node {
  return {
    id: 0,
    op,
    inputs: [],
    type: { dtype: 'f32', shape },
    attrs: {
      kernel: s.kernel,
      stride: s.stride,
      pad: s.pad,
      ...(op === 'conv2d_grad_input' ? { input_height: s.height, input_width: s.width } : {}),
    },
    module: 'test',
  };
}

/** Workgroups as train-plan launches a GEMM: columns over tiles of N, rows over tiles of M, splits. */
function groups(spec: GemmSpec, columns: number, rows: number): [number, number, number] {
  const tiling = gemmTiling(spec);
  return [Math.ceil(columns / tiling.tileN), Math.ceil(rows / tiling.tileM), spec.splits];
}

const run = (spec: GemmSpec, data: Float32Array[], batch: number, columns: number, rows: number) =>
  runKernel(generateGemmKernel(spec, 'test'), spec.bindings, data, batch, groups(spec, columns, rows));

const f32 = (t: Tensor64) => Float32Array.from(t.data);
/** A plain direct convolution (no bias, terms or ReLU) of a shape, as the training planner makes. */
const directSpec = (s: ConvShape & { inputDilation?: number }): ConvKernelSpec => ({
  kind: 'conv',
  ...s,
  inputScale: 1,
  hasBias: false,
  termScales: [],
  selfIndex: 0,
  relu: false,
});
const name = (s: ConvShape, batch: number) =>
  `${s.kernel}x${s.kernel}/${s.stride} pad ${s.pad}, ${s.inChannels}→${s.outChannels}, ${s.height}x${s.width}→${s.outHeight}x${s.outWidth}, batch ${batch}`;

describe('training conv kernels equal the float64 interpreter (relative error ≤ 1e-5)', () => {
  const cases = [
    ...Array.from({ length: 10 }, () => ({ s: randomConvShape(), batch: between(1, 3) })),
    // The stem's stride-2 conv and a 1x1 stride-2 conv, whose odd pixels no tap reaches.
    {
      s: {
        inChannels: 3,
        height: 16,
        width: 12,
        outChannels: 64,
        outHeight: 8,
        outWidth: 6,
        kernel: 3,
        stride: 2,
        pad: 1,
      },
      batch: 2,
    },
    {
      s: {
        inChannels: 8,
        height: 7,
        width: 6,
        outChannels: 16,
        outHeight: 4,
        outWidth: 3,
        kernel: 1,
        stride: 2,
        pad: 0,
      },
      batch: 2,
    },
  ];
  // A strided input gradient on the GEMM is one kernel per stride class, each compiling for seconds
  // on lavapipe: it runs for the two fixed shapes and for random ones of a kernel size and padding no
  // earlier of them had (stride-1 ones, one class each, always run).
  const fixed = cases.slice(-2);
  const stridedSeen = new Set(fixed.map(({ s }) => `${s.kernel}/${s.pad}`));
  const gemmInputGradient = (s: ConvShape, index: number) => {
    if (s.stride === 1 || index >= cases.length - fixed.length) return true;
    const key = `${s.kernel}/${s.pad}`;
    if (stridedSeen.has(key)) return false;
    stridedSeen.add(key);
    return true;
  };
  for (const [index, { s, batch }] of cases.entries()) {
    const x = randomTensor([batch, s.inChannels, s.height, s.width]);
    const weight = randomTensor([s.outChannels, s.inChannels, s.kernel, s.kernel]);
    const dy = randomTensor([batch, s.outChannels, s.outHeight, s.outWidth]);

    it(`forward: ${name(s, batch)}`, async () => {
      const expected = evaluateOp(
        node('conv2d', s, ['N', s.outChannels, s.outHeight, s.outWidth]),
        [x, weight],
        batch,
      );
      const spec = convForwardSpec(s, false);
      const out = new Float32Array(expected.data.length);
      const actual = await run(
        spec,
        [out, f32(x), f32(weight)],
        batch,
        batch * s.outHeight * s.outWidth,
        s.outChannels,
      );
      expect(relativeError(actual, expected.data)).toBeLessThanOrEqual(1e-5);
    });

    if (gemmInputGradient(s, index))
      it(`input gradient, one launch per stride class: ${name(s, batch)}`, async () => {
        const expected = evaluateOp(
          node('conv2d_grad_input', s, ['N', s.inChannels, s.height, s.width]),
          [dy, weight],
          batch,
        );
        // NaN marks pixels no launch wrote: every pixel belongs to exactly one class.
        let dx: Float32Array = new Float32Array(expected.data.length).fill(Number.NaN);
        for (const strideClass of strideClasses(s)) {
          const spec = convGradInputSpec(s, strideClass);
          dx = await run(
            spec,
            [dx, f32(dy), f32(weight)],
            batch,
            batch * strideClass.rows * strideClass.cols,
            s.inChannels,
          );
        }
        expect(dx.some(Number.isNaN)).toBe(false);
        expect(relativeError(dx, expected.data)).toBeLessThanOrEqual(1e-5);
      });

    it(`weight gradient, partial sums over the batch reduction: ${name(s, batch)}`, async () => {
      const expected = evaluateOp(
        node('conv2d_grad_weight', s, [s.outChannels, s.inChannels, s.kernel, s.kernel]),
        [x, dy],
        batch,
      );
      const spec = convGradWeightSpec(s);
      const splits = weightGradientSplits(s);
      const elements = expected.data.length;
      const partial = await run(
        spec,
        [new Float32Array(splits * elements), f32(x), f32(dy)],
        batch,
        s.inChannels * s.kernel * s.kernel,
        s.outChannels,
      );
      const summed = new Float64Array(elements);
      for (let split = 0; split < splits; split++)
        for (let i = 0; i < elements; i++) summed[i]! += partial[split * elements + i]!;
      expect(relativeError(summed, expected.data)).toBeLessThanOrEqual(1e-5);
    });
  }

  // Without subgroups and sharing loads by 8 lanes (lavapipe's subgroup size, the shared path); the
  // first four random shapes also by 4 (shared, with lanes 4 apart loading the same values) and by 16,
  // which lavapipe's subgroups of 8 are not whole multiples of, so the kernel must take its own-load
  // path. The random shapes are small, so their 3x3s take 8 output channels × 4 pixels per invocation.
  // A stride-1 3x3 also runs with 16 × 8 (what W32's large ones take), without subgroups and shared by
  // 8 (each such kernel compiles for 20 s on lavapipe).
  const stride1 = {
    inChannels: 9,
    height: 10,
    width: 7,
    outChannels: 20,
    outHeight: 10,
    outWidth: 7,
    kernel: 3,
    stride: 1,
    pad: 1,
  };
  const sixteen = (s: ConvShape) => ({
    ...chooseDirectWeightGradTiling(s),
    channels: 16,
    pixels: Math.min(8, s.outWidth),
  });
  const pointwise40 = {
    ...stride1,
    inChannels: 40,
    outChannels: 20,
    height: 6,
    width: 8,
    outHeight: 6,
    outWidth: 8,
    kernel: 1,
    pad: 0,
  };
  const runs = [
    ...cases.map(({ s, batch }, index) => ({
      s,
      batch,
      tiling: chooseDirectWeightGradTiling(s),
      sharing: index < 4 ? [undefined, 4, 8, 16] : [undefined, 8],
    })),
    { s: stride1, batch: 2, tiling: sixteen(stride1), sharing: [undefined, 8] },
    // A 1x1 takes 4 input channels per lane, here with lanes past the last channel in each.
    { s: pointwise40, batch: 2, tiling: chooseDirectWeightGradTiling(pointwise40), sharing: [undefined, 8] },
    // Rows of 12 take 6 pixels per step without vec4 reads.
    {
      s: { ...stride1, width: 12, outWidth: 12 },
      batch: 1,
      tiling: { ...sixteen(stride1), pixels: 6 },
      sharing: [8],
    },
    // Rows read as vec4s (readsVectorRows): 4 pixels per step (what W32's 3x3s take), and 8, whose
    // last block of a 12-wide row is half past the row; 20 output channels, the last block partial.
    ...[4, 8].map((pixels) => ({
      s: { ...stride1, width: 12, outWidth: 12, height: 5, outHeight: 5 },
      batch: 2,
      tiling: { ...sixteen(stride1), pixels },
      sharing: [undefined, 8],
    })),
    // A stride-2 3x3 reads its input rows as vec4s too (blocks of 4 output pixels start on 8 inputs).
    {
      s: { ...stride1, height: 10, width: 16, outHeight: 5, outWidth: 8, stride: 2 },
      batch: 2,
      tiling: chooseDirectWeightGradTiling({
        ...stride1,
        height: 10,
        width: 16,
        outHeight: 5,
        outWidth: 8,
        stride: 2,
      }),
      sharing: [undefined, 8],
    },
  ];

  it('the direct weight gradient steps by 4 pixels where rows are vec4s, else by 8, 6 or 4, whichever idles fewest in a row', () => {
    const large = (width: number) =>
      chooseDirectWeightGradTiling({
        ...stride1,
        inChannels: 256,
        outChannels: 256,
        height: 8,
        width,
        outHeight: 8,
        outWidth: width,
      });
    expect([48, 24, 16, 12, 20].map((width) => large(width).pixels)).toEqual([4, 4, 4, 4, 4]);
    expect(
      [48, 12].map((width) => readsVectorRows({ ...stride1, width, outWidth: width }, large(width))),
    ).toEqual([true, true]);
    expect([6, 7, 10, 18].map((width) => large(width).pixels)).toEqual([6, 7, 6, 6]);
    expect(chooseDirectWeightGradTiling(stride1).pixels).toBe(4);
    const pointwise = { ...stride1, kernel: 1, pad: 0, height: 64, width: 48, outHeight: 64, outWidth: 48 };
    expect(chooseDirectWeightGradTiling({ ...pointwise, inChannels: 64, outChannels: 256 })).toMatchObject({
      lanes: 16,
      inputs: 4,
      channels: 16,
      pixels: 4,
    });
    expect(chooseDirectWeightGradTiling({ ...pointwise, width: 6, outWidth: 6 }).pixels).toBe(3);
  });
  for (const { s, batch, tiling, sharing } of runs) {
    const x = randomTensor([batch, s.inChannels, s.height, s.width]);
    const dy = randomTensor([batch, s.outChannels, s.outHeight, s.outWidth]);
    for (const shared of sharing.filter((n) => n === undefined || tiling.lanes % n === 0)) {
      it(`direct weight gradient, ${tiling.channels} channels × ${tiling.pixels} pixels${readsVectorRows(s, tiling) ? ' (vec4 rows)' : ''}${shared ? `, loads shared by ${shared} lanes` : ''}: ${name(s, batch)}`, async () => {
        const expected = evaluateOp(
          node('conv2d_grad_weight', s, [s.outChannels, s.inChannels, s.kernel, s.kernel]),
          [x, dy],
          batch,
        );
        const elements = expected.data.length;
        // NaN marks weights no slice wrote: every slice stores every weight.
        const partial = await runKernel(
          generateDirectWeightGradKernel(s, tiling, shared),
          directWeightGradBindings(tiling.splits, readsVectorRows(s, tiling)),
          [new Float32Array(tiling.splits * elements).fill(Number.NaN), f32(x), f32(dy)],
          batch,
          directWeightGradWorkgroups(s, tiling),
        );
        expect(partial.some(Number.isNaN)).toBe(false);
        const summed = new Float64Array(elements);
        for (let split = 0; split < tiling.splits; split++)
          for (let i = 0; i < elements; i++) summed[i]! += partial[split * elements + i]!;
        expect(relativeError(summed, expected.data)).toBeLessThanOrEqual(1e-5);
      });
    }
  }

  // Strided convolutions' input gradients by the direct kernel, its input dilated: a 3x3 with each
  // tiling (blocks of 16, 12 and 8 pixels; the light ones' 8 and 4) and its default one with weight
  // loads shared by 8 lanes; one of an odd height; the stem's shape and a 1x1 stride 2 with their
  // default tilings. Each kernel compiles for seconds
  // on lavapipe, so the random shapes do not take this path too.
  const dilatedCases = [
    {
      s: { ...stride1, height: 32, width: 26, outHeight: 16, outWidth: 13, stride: 2 },
      batch: 2,
      everyTiling: true,
      sharedToo: true,
    },
    // An odd input height: the even rows' class has one row more than the odd rows'.
    {
      s: { ...stride1, height: 31, width: 26, outHeight: 16, outWidth: 13, stride: 2 },
      batch: 1,
      everyTiling: false,
      sharedToo: true,
    },
    ...cases.slice(-2).map((c) => ({ ...c, everyTiling: false, sharedToo: false })),
  ];
  for (const { s, batch, everyTiling, sharedToo } of dilatedCases) {
    const spec = directSpec(inputGradientConv(s));
    const weight = randomTensor([s.outChannels, s.inChannels, s.kernel, s.kernel]);
    const dy = randomTensor([batch, s.outChannels, s.outHeight, s.outWidth]);
    for (const tiling of everyTiling ? [...directTilings, ...lightTilings] : [chooseDirectTiling(spec)]) {
      const shares =
        sharedToo &&
        tiling === chooseDirectTiling(spec) &&
        sharesWeightLoads(spec, tiling, 'flipped-transposed', 8);
      for (const shared of shares ? [undefined, 8] : [undefined]) {
        it(`direct input gradient, input dilated, ${tiling.pixels}x${tiling.channels}${shared ? ', loads shared by 8 lanes' : ''}: ${name(s, batch)}`, async () => {
          const expected = evaluateOp(
            node('conv2d_grad_input', s, ['N', s.inChannels, s.height, s.width]),
            [dy, weight],
            batch,
          );
          const groups = workgroupCounts(
            { kind: 'tiles', ...directConvWorkgroups(spec, tiling, 'flipped-transposed') },
            batch,
          );
          const actual = await runKernel(
            generateDirectConvKernel(spec, tiling, 'flipped-transposed', shared),
            directConvBindings(spec, 'flipped-transposed', tiling),
            [new Float32Array(expected.data.length).fill(Number.NaN), f32(dy), f32(weight)],
            batch,
            groups,
          );
          expect(relativeError(actual, expected.data)).toBeLessThanOrEqual(1e-5);
        });
      }
    }
  }

  it('stride classes partition the pixels and keep only the reaching taps', () => {
    const s = randomConvShape();
    const stem = { ...s, height: 9, width: 8, kernel: 3, stride: 2, pad: 1 };
    const classes = strideClasses(stem);
    expect(classes.map((c) => [c.py, c.px, c.rows, c.cols, c.tapsY, c.tapsX])).toEqual([
      [0, 0, 5, 4, 1, 1],
      [0, 1, 5, 4, 1, 2],
      [1, 0, 4, 4, 2, 1],
      [1, 1, 4, 4, 2, 2],
    ]);
    expect(classes.reduce((n, c) => n + c.rows * c.cols, 0)).toBe(9 * 8);
  });
});
