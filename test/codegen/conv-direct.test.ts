import { describe, expect, it } from 'vitest';
import { relativeError } from '../../common/relative-error.ts';
import { packedElements, usesDirectConv } from '../../compiler/codegen/kernel-plan.ts';
import {
  chooseDirectTiling,
  chooseTrainingDirectTiling,
  convMacsPerImage,
  type DirectConvTiling,
  type DirectWeights,
  directConvBindings,
  directConvWorkgroups,
  directTilings,
  directTilingsFor,
  directVariantName,
  directWeightLayout,
  directWeightWindows,
  generateDirectConvKernel,
  largeConvolutionFrom,
  lightTilings,
  sharesWeightLoads,
  trainingDirectTilingsFor,
} from '../../compiler/codegen/wgsl/conv-direct.ts';
import { type ConvKernelSpec, convKernelSpec } from '../../compiler/codegen/wgsl/conv-gemm.ts';
import type { Node } from '../../compiler/ir/graph.ts';
import { evaluateOp, type Tensor64 } from '../../compiler/ir/interpret.ts';
import { layOut } from '../../runtime/weights/pack-weights.ts';
import { workgroupCounts } from '../../runtime/workgroups.ts';
import { randomSource } from '../helpers/random.ts';
import { runKernel } from '../helpers/run-kernel.ts';

const { tensor: randomTensor } = randomSource(20261127);

const wide: DirectConvTiling = { pixels: 16, channels: 8 };
const tall: DirectConvTiling = { pixels: 8, channels: 16 };

const conv = convKernelSpec;

function convNode(spec: ConvKernelSpec): Node {
  return {
    id: 0,
    op: 'fused_conv2d',
    inputs: [],
    type: { dtype: 'f32', shape: ['N', spec.outChannels, spec.outHeight, spec.outWidth] },
    attrs: {
      kernel: spec.kernel,
      stride: spec.stride,
      pad: spec.pad,
      input_scale: spec.inputScale,
      relu: spec.relu,
      self_index: spec.selfIndex,
      term_scales: spec.termScales,
    },
    module: 'test',
  };
}

const f32 = (t: Tensor64) => Float32Array.from(t.data);

/** W'[o][i][t] = W[i][o][k·k−1−t]: the weight of a stride-1 convolution's input gradient. */
function flipTranspose(weight: Tensor64): Tensor64 {
  const [o, i, k] = weight.shape as [number, number, number];
  const taps = k * k;
  const data = new Float64Array(weight.data.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let t = 0; t < taps; t++)
        data[(b * o + a) * taps + t] = weight.data[(a * i + b) * taps + taps - 1 - t]!;
  return { shape: [i, o, k, k], data };
}

async function checkAgainstInterpreter(
  spec: ConvKernelSpec,
  tiling: DirectConvTiling,
  batch: number,
  weights: DirectWeights = 'packed',
  sharedLoads?: number,
) {
  const x = randomTensor([batch, spec.inChannels, spec.height, spec.width]);
  // In flipped-transposed mode the kernel is given the forward convolution's weight.
  const given =
    weights === 'flipped-transposed'
      ? randomTensor([spec.inChannels, spec.outChannels, spec.kernel, spec.kernel])
      : randomTensor([spec.outChannels, spec.inChannels, spec.kernel, spec.kernel]);
  const weight = weights === 'flipped-transposed' ? flipTranspose(given) : given;
  const bias = spec.hasBias
    ? randomTensor([spec.outChannels])
    : { shape: [spec.outChannels], data: new Float64Array(spec.outChannels) };
  const terms = spec.termScales.map((s) =>
    randomTensor([batch, spec.outChannels, spec.outHeight / s, spec.outWidth / s]),
  );
  // The reference sees exactly the float32 values the kernel sees.
  const rounded = (t: Tensor64): Tensor64 => ({ shape: t.shape, data: Float64Array.from(f32(t)) });
  const expected = evaluateOp(convNode(spec), [x, weight, bias, ...terms].map(rounded), batch);

  const layout = directWeightLayout(tiling);
  const windows = weights === 'packed' ? directWeightWindows(spec, tiling) : undefined;
  const packed = new Float32Array(packedElements(weight.shape, layout, windows));
  layOut(f32(weight), weight.shape, layout, packed, windows);
  const weightData = weights === 'packed' ? packed : f32(given);
  const paddedBias = new Float32Array(packedElements(bias.shape, 'vector'));
  layOut(f32(bias), bias.shape, 'vector', paddedBias);
  const data = [
    new Float32Array(expected.data.length),
    f32(x),
    weightData,
    ...(spec.hasBias ? [paddedBias] : []),
    ...terms.map(f32),
  ];
  const groups = workgroupCounts({ kind: 'tiles', ...directConvWorkgroups(spec, tiling, weights) }, batch);
  const actual = await runKernel(
    generateDirectConvKernel(spec, tiling, weights, sharedLoads),
    directConvBindings(spec, weights, tiling),
    data,
    batch,
    groups,
    windows ? { value: 2, windows } : undefined,
  );
  expect(relativeError(actual, expected.data)).toBeLessThanOrEqual(1e-5);
}

describe('the direct conv kernel equals the float64 interpreter (relative error ≤ 1e-5)', () => {
  const cases: [string, ConvKernelSpec, DirectConvTiling, number][] = [
    [
      'odd width (scalar row loads), channels not a multiple of K, two terms, relu',
      conv({
        inChannels: 5,
        outChannels: 13,
        height: 6,
        width: 13,
        termScales: [1],
        selfIndex: 1,
        relu: true,
      }),
      tall,
      3,
    ],
    [
      'width a multiple of 4 but not of P (vec4 row loads, guarded tail), no bias',
      conv({ inChannels: 7, outChannels: 20, height: 5, width: 12, hasBias: false }),
      wide,
      1,
    ],
    [
      'terms at 1/2 and 1/4 resolution around the conv, relu',
      conv({
        inChannels: 9,
        outChannels: 16,
        height: 8,
        width: 20,
        termScales: [2, 4],
        selfIndex: 1,
        relu: true,
      }),
      wide,
      3,
    ],
    [
      'input read upsampled x2',
      conv({
        inChannels: 4,
        outChannels: 6,
        height: 3,
        width: 5,
        inputScale: 2,
        termScales: [2],
        relu: true,
      }),
      tall,
      1,
    ],
    [
      'more than one workgroup per image and a partial last workgroup',
      conv({ inChannels: 3, outChannels: 8, height: 11, width: 68, termScales: [1] }),
      wide,
      3,
    ],
    [
      '1x1 without halo',
      conv({ inChannels: 6, outChannels: 17, height: 4, width: 9, kernel: 1, pad: 0 }),
      tall,
      3,
    ],
    [
      '1x1 input upsampled x4 (a fuse layer)',
      conv({
        inChannels: 5,
        outChannels: 8,
        height: 2,
        width: 3,
        kernel: 1,
        pad: 0,
        inputScale: 4,
        termScales: [1, 4],
      }),
      wide,
      3,
    ],
    [
      '3x3 stride 2, vec4 rows',
      conv({ inChannels: 6, outChannels: 10, height: 9, width: 16, stride: 2 }),
      tall,
      3,
    ],
    [
      '3x3 stride 2, odd width',
      conv({ inChannels: 4, outChannels: 9, height: 7, width: 11, stride: 2 }),
      wide,
      1,
    ],
    [
      'weights beyond one uniform binding (64 KiB): two windows of 3 blocks, the last padded',
      conv({ inChannels: 48, outChannels: 40, height: 3, width: 8, relu: true }),
      { ...wide, maxWindows: 4 },
      2,
    ],
    [
      'three windows of two 16-channel blocks, the last one padding',
      conv({ inChannels: 50, outChannels: 70, height: 4, width: 8, termScales: [1], relu: true }),
      { ...tall, maxWindows: 4 },
      2,
    ],
    [
      'a channel block beyond one uniform binding, read from storage',
      conv({ inChannels: 232, outChannels: 12, height: 2, width: 5 }),
      wide,
      2,
    ],
    [
      '3x3 without padding',
      conv({ inChannels: 3, outChannels: 5, height: 6, width: 12, pad: 0, relu: true }),
      tall,
      3,
    ],
  ];
  for (const [name, spec, tiling, batch] of cases) {
    it(`${name}: ${spec.inChannels}→${spec.outChannels}, ${spec.height}x${spec.width}, ${tiling.pixels}x${tiling.channels}, batch ${batch}`, () =>
      checkAgainstInterpreter(spec, tiling, batch));
  }

  it('splits packed weights into uniform windows of whole channel blocks, storage when a block is too big', () => {
    const weightOf = (spec: ConvKernelSpec) =>
      directConvBindings(spec, 'packed', wide).find((b) => b.name === 'weight')!;
    const small = conv({ inChannels: 32, outChannels: 40, height: 4, width: 8 });
    // 5 blocks of 8 channels × 32 inputs × 9 taps: 46,080 bytes and a 16-byte header, one window.
    expect(directWeightWindows(small, wide)).toEqual({ count: 1, blocks: 5, bytes: 46336 });
    expect(weightOf(small).uniformLength).toBe(2881);
    expect(generateDirectConvKernel(small, wide)).toContain('var<uniform> weight: array<vec4<f32>, 2881>;');
    // With 48 inputs a block is 13,824 bytes: 4 fit a window; 5 blocks would go as two windows of 3,
    // which the default (one window at most) leaves in storage.
    const large = conv({ inChannels: 48, outChannels: 40, height: 3, width: 8 });
    const upTo4 = { ...wide, maxWindows: 4 };
    expect(directWeightWindows(large, wide)).toBeUndefined();
    expect(directWeightWindows(large, upTo4)).toEqual({ count: 2, blocks: 3, bytes: 41728 });
    expect(directConvWorkgroups(large, upTo4, 'packed').rows).toBe(3);
    expect(directConvWorkgroups(large, wide, 'packed').rows).toBe(5);
    expect(directConvWorkgroups(large, upTo4, 'official').rows).toBe(5);
    // 232 inputs: one block is 66,816 bytes.
    const huge = conv({ inChannels: 232, outChannels: 8, height: 2, width: 4 });
    expect(directWeightWindows(huge, wide)).toBeUndefined();
    expect(weightOf(huge).uniformLength).toBeUndefined();
    // 128 → 128: one block of 36,864 bytes per window would take 16 windows, more than 4.
    const many = conv({ inChannels: 128, outChannels: 128, height: 16, width: 16 });
    expect(directWeightWindows(many, upTo4)).toBeUndefined();
    expect(directWeightWindows({ ...many, outChannels: 32 }, upTo4)).toEqual({
      count: 4,
      blocks: 1,
      bytes: 37120,
    });
  });
});

describe('every direct tiling the tuner can choose equals the float64 interpreter on random shapes', () => {
  const random = randomSource(20261201);
  for (const tiling of [...directTilings, ...lightTilings]) {
    for (let i = 0; i < 3; i++) {
      const kernel = random.pick([1, 3]);
      const stride = random.pick([1, 2]);
      const inputScale = stride === 1 ? random.pick([1, 1, 2]) : 1;
      const spec = conv({
        inChannels: random.between(1, 9),
        outChannels: random.between(1, 20),
        height: random.between(2, 10),
        width: random.between(2, 19),
        kernel,
        pad: kernel === 3 ? 1 : 0,
        stride,
        inputScale,
        hasBias: random.pick([true, false]),
        relu: random.pick([true, false]),
      });
      const terms = spec.outHeight % 2 === 0 && spec.outWidth % 2 === 0 ? random.pick([[], [1], [2]]) : [];
      const withTerms = { ...spec, termScales: terms, selfIndex: terms.length ? random.between(0, 1) : 0 };
      const batch = random.between(1, 3);
      it(`${withTerms.kernel}x${withTerms.kernel} s${withTerms.stride} x${withTerms.inputScale}, ${withTerms.inChannels}→${withTerms.outChannels}, ${withTerms.height}x${withTerms.width}, terms [${terms}], ${tiling.pixels}x${tiling.channels}, batch ${batch}`, () =>
        checkAgainstInterpreter(withTerms, tiling, batch));
    }
  }
});

// The training step's tuner (`hrnet tune --training`) chooses among these tilings for the forward
// (official weights) and stride-1 input gradients (flipped and transposed). The forward's shapes have
// at least 64 pixel blocks per image, so that its loads are shared by subgroups of 8 as the step runs
// them on lavapipe; the input gradients' are small, with each lane loading its own (as on devices
// without subgroups). Strided input gradients read a dilated input: test/codegen/train-kernels.test.ts
// checks them with every tiling.
describe("every tiling the training step's tuner can choose equals the float64 interpreter on random shapes", () => {
  const random = randomSource(20261203);
  for (const tiling of [...directTilings, ...lightTilings]) {
    for (const weights of ['official', 'flipped-transposed'] as const) {
      const kernel = random.pick([1, 3, 3]);
      const forward = weights === 'official';
      const stride = forward ? random.pick([1, 2]) : 1;
      const spec = conv({
        inChannels: random.between(1, 12),
        outChannels: random.between(1, 20),
        height: forward ? stride * random.between(32, 40) : random.between(2, 20),
        width: forward ? stride * random.between(17, 40) : random.between(2, 40),
        kernel,
        pad: kernel === 3 ? 1 : 0,
        stride,
        hasBias: forward && random.pick([true, false]),
      });
      const shared = forward ? 8 : undefined;
      const batch = random.between(1, 3);
      it(`${weights}, ${spec.kernel}x${spec.kernel} s${spec.stride}, ${spec.inChannels}→${spec.outChannels}, ${spec.height}x${spec.width}, ${tiling.pixels}x${tiling.channels}${shared ? ', loads shared by 8 lanes' : ''}, batch ${batch}`, () => {
        if (forward) expect(sharesWeightLoads(spec, tiling, weights, 8)).toBe(true);
        return checkAgainstInterpreter(spec, tiling, batch, weights, shared);
      });
    }
  }
});

describe('the direct conv kernel reading training weights in place equals the float64 interpreter', () => {
  const cases: [string, ConvKernelSpec, DirectConvTiling, DirectWeights][] = [
    [
      'official layout, 3x3, channels not a multiple of K, bias',
      conv({ inChannels: 5, outChannels: 13, height: 6, width: 12 }),
      tall,
      'official',
    ],
    [
      'official layout, 3x3 stride 2, no bias',
      conv({ inChannels: 4, outChannels: 9, height: 7, width: 11, stride: 2, hasBias: false }),
      wide,
      'official',
    ],
    [
      'official layout, 1x1',
      conv({ inChannels: 6, outChannels: 10, height: 5, width: 9, kernel: 1, pad: 0 }),
      wide,
      'official',
    ],
    [
      'flipped and transposed (an input gradient), 3x3',
      conv({ inChannels: 7, outChannels: 11, height: 6, width: 13, hasBias: false }),
      wide,
      'flipped-transposed',
    ],
    [
      'flipped and transposed (an input gradient), 1x1',
      conv({ inChannels: 9, outChannels: 5, height: 4, width: 8, kernel: 1, pad: 0, hasBias: false }),
      tall,
      'flipped-transposed',
    ],
  ];
  for (const [name, spec, tiling, weights] of cases) {
    it(`${name}: ${spec.inChannels}→${spec.outChannels}, ${spec.height}x${spec.width}, batch 2`, () =>
      checkAgainstInterpreter(spec, tiling, 2, weights));
  }
});

describe('the direct-conv weight layouts', () => {
  it('put a header with the first block before each window', () => {
    // Weight [O=10, I=1, 1, 1] as two blocks of 8 channels, a window (256 bytes) each.
    const windows = { count: 2, blocks: 1, bytes: 256 };
    const values = Array.from({ length: 10 }, (_, o) => o + 1);
    const packed = new Float32Array(packedElements([10, 1, 1, 1], 'conv-direct-k8', windows));
    layOut(values, [10, 1, 1, 1], 'conv-direct-k8', packed, windows);
    expect(packed.length).toBe(128);
    expect([...packed.subarray(0, 12)]).toEqual([0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...packed.subarray(64, 76)]).toEqual([1, 0, 0, 0, 9, 10, 0, 0, 0, 0, 0, 0]);
  });

  it('keep each block of K output channels contiguous per input channel and tap, zero-padded', () => {
    // Weight [O=3, I=2, 1, 1] with value 10·o + i, in blocks of 8 channels.
    const values = [0, 1, 10, 11, 20, 21];
    const packed = new Float32Array(packedElements([3, 2, 1, 1], 'conv-direct-k8'));
    layOut(values, [3, 2, 1, 1], 'conv-direct-k8', packed);
    expect([...packed]).toEqual([0, 10, 20, 0, 0, 0, 0, 0, 1, 11, 21, 0, 0, 0, 0, 0]);
  });

  it('the planner sends padded 3x3 and 1x1 convolutions of any stride to the direct kernel, others to the GEMM', () => {
    const shape = { inChannels: 32, outChannels: 32, height: 64, width: 64 };
    expect(usesDirectConv(conv(shape))).toBe(true);
    expect(usesDirectConv(conv({ ...shape, kernel: 1, pad: 0, inputScale: 2 }))).toBe(true);
    expect(usesDirectConv(conv({ ...shape, stride: 2 }))).toBe(true);
    expect(usesDirectConv(conv({ ...shape, pad: 0 }))).toBe(false);
    expect(usesDirectConv(conv({ ...shape, termScales: [3] }))).toBe(false);
  });

  it('inference workgroups shrink (to 8 lanes at least) until an image gives 4; training keeps 64', () => {
    // W32's 64-channel 3x3 at 32x32: 64 pixel blocks; in 3 weight windows of 3 blocks (allowed up to
    // 4 windows), or 8 blocks from storage (the default).
    const spec = conv({ inChannels: 64, outChannels: 64, height: 32, width: 32 });
    expect(directConvWorkgroups(spec, { ...wide, maxWindows: 4 }, 'packed')).toEqual({
      columnsPerImage: 64,
      columnsPerGroup: 32,
      rows: 3,
    });
    expect(directConvWorkgroups(spec, wide, 'packed')).toEqual({
      columnsPerImage: 64,
      columnsPerGroup: 64,
      rows: 8,
    });
    expect(directConvWorkgroups(spec, wide, 'official')).toEqual({
      columnsPerImage: 64,
      columnsPerGroup: 64,
      rows: 8,
    });
    const narrow = conv({ inChannels: 3, outChannels: 4, height: 2, width: 16 });
    expect(directConvWorkgroups(narrow, wide, 'packed').columnsPerGroup).toBe(2);
    const one = conv({ inChannels: 3, outChannels: 4, height: 64, width: 64 });
    expect(directConvWorkgroups(one, wide, 'packed').columnsPerGroup).toBe(64);
  });

  it('the tiling that wastes the fewest pixels, the wider on a tie', () => {
    // 256 × 256 channels × 9 taps × 16 rows × width: above largeConvolutionFrom from width 4 on.
    const tiling = (width: number) =>
      chooseDirectTiling(conv({ inChannels: 256, outChannels: 256, height: 16, width }));
    expect([64, 48, 32, 16].map(tiling)).toEqual(Array(4).fill({ pixels: 16, channels: 16 }));
    expect([24, 12].map(tiling)).toEqual(Array(2).fill({ pixels: 12, channels: 16 }));
    expect(tiling(4)).toEqual(tall);
  });

  it('a large 3x3 stride-1 whose rows take one block of 8 pixels also gets, and takes, 8 channels × 8', () => {
    const narrow = { pixels: 8, channels: 8 };
    const large = (width: number, more: Partial<ConvKernelSpec> = {}) =>
      conv({ inChannels: 256, outChannels: 256, height: 16, width, ...more });
    for (const width of [5, 6, 7, 8]) {
      expect(directTilingsFor(large(width))).toEqual([...directTilings, narrow]);
      expect(chooseDirectTiling(large(width))).toEqual(narrow);
    }
    for (const width of [4, 9, 12]) expect(directTilingsFor(large(width))).toEqual(directTilings);
    // Strided (to 8 wide), upsampled and 1x1 convolutions keep the 16-channel tilings.
    for (const more of [
      { stride: 2 },
      { inputScale: 2 },
      { kernel: 1, pad: 0 },
    ] as Partial<ConvKernelSpec>[]) {
      const spec = large(more.stride ? 16 : more.inputScale ? 4 : 8, more);
      expect(spec.outWidth).toBe(8);
      expect(directTilingsFor(spec)).toEqual(directTilings);
    }
    // The training step takes it there too.
    expect(chooseTrainingDirectTiling(large(6))).toEqual(narrow);
  });

  it("the training step's 3x3 stride-1 convolutions take 8 channels × 8 pixels, or 4 where that idles fewer", () => {
    const tiling = (width: number, more: Partial<ConvKernelSpec> = {}) =>
      chooseTrainingDirectTiling(conv({ inChannels: 256, outChannels: 256, height: 16, width, ...more }));
    expect([64, 48, 24, 16, 8, 6].map((w) => tiling(w))).toEqual(Array(6).fill({ pixels: 8, channels: 8 }));
    expect([12, 4, 2].map((w) => tiling(w))).toEqual(Array(3).fill({ pixels: 4, channels: 8 }));
    // Small convolutions keep the light tiling chooseDirectTiling gives them.
    for (const width of [2, 4, 6, 8, 12, 16]) {
      const small = conv({ inChannels: 8, outChannels: 8, height: 4, width });
      expect(chooseTrainingDirectTiling(small)).toEqual(chooseDirectTiling(small));
    }
    // Strided, dilated, upsampled and 1x1 convolutions keep chooseDirectTiling's.
    for (const more of [
      { stride: 2 },
      { inputDilation: 2 },
      { inputScale: 2 },
      { kernel: 1, pad: 0 },
    ] as Partial<ConvKernelSpec>[])
      expect(tiling(48, more)).toEqual(
        chooseDirectTiling(conv({ inChannels: 256, outChannels: 256, height: 16, width: 48, ...more })),
      );
  });

  it("the training step's tuner may choose the forward's tilings, and the 8-channel ones for a 3x3 at stride 1", () => {
    const spec = (width: number, more: Partial<ConvKernelSpec> = {}) =>
      conv({ inChannels: 256, outChannels: 256, height: 16, width, ...more });
    const eight = { pixels: 8, channels: 8 };
    const four = { pixels: 4, channels: 8 };
    expect(trainingDirectTilingsFor(spec(48))).toEqual([...directTilings, eight, four]);
    // The narrow rows' 8 × 8 is the forward's already: listed once.
    expect(trainingDirectTilingsFor(spec(6))).toEqual([...directTilings, eight, four]);
    for (const more of [
      { stride: 2 },
      { kernel: 1, pad: 0 },
      { inputDilation: 2 },
    ] as Partial<ConvKernelSpec>[])
      expect(trainingDirectTilingsFor(spec(48, more))).toEqual(directTilingsFor(spec(48, more)));
    const small = conv({ inChannels: 8, outChannels: 8, height: 4, width: 16 });
    expect(trainingDirectTilingsFor(small)).toEqual(lightTilings);
    // The default is always one of them, and named as the forward's variants are.
    for (const s of [spec(48), spec(12), spec(6), spec(48, { stride: 2 }), small])
      expect(trainingDirectTilingsFor(s)).toContainEqual(chooseTrainingDirectTiling(s));
    expect(directVariantName(four)).toBe('direct-p4k8');
  });

  it('a 3x3 below largeConvolutionFrom multiply-adds per image takes the light tilings; a 1x1 never', () => {
    const eight = { pixels: 8, channels: 8 };
    const four = { pixels: 4, channels: 8 };
    const small = (width: number, more: Partial<ConvKernelSpec> = {}) =>
      conv({ inChannels: 8, outChannels: 8, height: 4, width, ...more });
    expect(directTilingsFor(small(16))).toEqual([eight, four]);
    expect([64, 16, 8].map((w) => chooseDirectTiling(small(w)))).toEqual(Array(3).fill(eight));
    expect([12, 4].map((w) => chooseDirectTiling(small(w)))).toEqual(Array(2).fill(four));
    expect(directTilingsFor(small(16, { kernel: 1, pad: 0 }))).toEqual(directTilings);
    // Either side of the bound: 64 × 64 × 9 multiply-adds per pixel, 7 rows of 64 below 2²⁴, 8 above.
    const rows = (height: number) => conv({ inChannels: 64, outChannels: 64, height, width: 64 });
    expect(convMacsPerImage(rows(7))).toBe(16_515_072);
    expect(16_515_072 < largeConvolutionFrom && 18_874_368 >= largeConvolutionFrom).toBe(true);
    expect(directTilingsFor(rows(7))).toEqual([eight, four]);
    expect(convMacsPerImage(rows(8))).toBe(18_874_368);
    expect(directTilingsFor(rows(8))).toEqual(directTilings);
    // A dilated input's zeros are not multiply-adds: an input gradient counts what its convolution does.
    expect(convMacsPerImage({ ...rows(8), inputDilation: 2 })).toBe(18_874_368 / 4);
  });
});

// Shared by 8 lanes (lavapipe's subgroup size: the shared path) and by 4 (shared, lanes 4 apart
// loading the same values); by 16, which lavapipe's subgroups of 8 are not whole multiples of, so the
// kernel must load every weight itself.
describe('weight loads shared across subgroups give the values of the interpreter', () => {
  const cases: [string, ConvKernelSpec, DirectConvTiling, DirectWeights, number][] = [
    [
      'official layout, 3x3, channels not a multiple of K, a partial last workgroup',
      conv({ inChannels: 5, outChannels: 13, height: 40, width: 32 }),
      wide,
      'official',
      1,
    ],
    [
      'official layout, 1x1 stride 2',
      conv({ inChannels: 6, outChannels: 10, height: 16, width: 31, kernel: 1, pad: 0, stride: 2 }),
      tall,
      'official',
      2,
    ],
    [
      'flipped and transposed (an input gradient), 3x3',
      conv({ inChannels: 7, outChannels: 11, height: 16, width: 16, hasBias: false }),
      wide,
      'flipped-transposed',
      2,
    ],
    [
      'packed weights beyond the uniform windows, read from storage',
      conv({ inChannels: 232, outChannels: 32, height: 16, width: 16, relu: true }),
      wide,
      'packed',
      2,
    ],
  ];
  for (const [name, spec, tiling, weights, batch] of cases) {
    for (const lanes of [4, 8, 16]) {
      it(`${name}, ${lanes} lanes: ${spec.inChannels}→${spec.outChannels}, ${spec.height}x${spec.width}, batch ${batch}`, () => {
        expect(sharesWeightLoads(spec, tiling, weights, lanes)).toBe(true);
        return checkAgainstInterpreter(spec, tiling, batch, weights, lanes);
      });
    }
  }

  it('is not offered for uniform windows (already scalar loads) or workgroups smaller than a subgroup', () => {
    expect(
      sharesWeightLoads(conv({ inChannels: 32, outChannels: 40, height: 8, width: 16 }), wide, 'packed', 8),
    ).toBe(false);
    expect(
      sharesWeightLoads(conv({ inChannels: 8, outChannels: 8, height: 4, width: 4 }), tall, 'official', 8),
    ).toBe(false);
  });
});
