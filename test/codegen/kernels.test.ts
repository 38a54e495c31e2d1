import { describe, expect, it } from 'vitest';
import { relativeError } from '../../common/relative-error.ts';
import {
  type ConvKernelSpec,
  convBindings,
  convWorkgroups,
  generateConvKernel,
} from '../../compiler/codegen/wgsl/conv-gemm.ts';
import {
  type ElementwiseKernelSpec,
  elementwiseBindings,
  elementwiseWorkgroups,
  generateElementwiseKernel,
} from '../../compiler/codegen/wgsl/elementwise.ts';
import type { Node } from '../../compiler/ir/graph.ts';
import { evaluateOp, type Tensor64 } from '../../compiler/ir/interpret.ts';
import { layOut } from '../../runtime/weights/pack-weights.ts';
import { workgroupCounts } from '../../runtime/workgroups.ts';
import { randomSource } from '../helpers/random.ts';
import { runKernel } from '../helpers/run-kernel.ts';

const { prng, pick, between, tensor: randomTensor } = randomSource(20261126);

/** A random convolution with epilogue whose sizes line up (terms at 1, 2 or 4 times lower resolution). */
function randomConv(): { spec: ConvKernelSpec; batch: number } {
  for (;;) {
    const kernel = pick([1, 3]);
    const stride = pick([1, 2]);
    const pad = kernel === 3 ? pick([0, 1]) : 0;
    const inputScale = kernel === 1 && stride === 1 ? pick([1, 1, 2]) : 1;
    const height = between(1, 13);
    const width = between(1, 13);
    const outHeight = Math.floor((height * inputScale + 2 * pad - kernel) / stride) + 1;
    const outWidth = Math.floor((width * inputScale + 2 * pad - kernel) / stride) + 1;
    if (outHeight < 1 || outWidth < 1) continue;
    const termScales = Array.from({ length: between(0, 3) }, () => pick([1, 2, 4])).filter(
      (s) => outHeight % s === 0 && outWidth % s === 0,
    );
    const spec: ConvKernelSpec = {
      kind: 'conv',
      inChannels: between(1, 40),
      height,
      width,
      inputScale,
      outChannels: pick([1, 3, 4, 8, 13, 16, 32, 45, 64, 70]),
      outHeight,
      outWidth,
      kernel,
      stride,
      pad,
      hasBias: prng.next() < 0.8,
      termScales,
      selfIndex: between(0, termScales.length),
      relu: prng.next() < 0.5,
    };
    return { spec, batch: between(1, 3) };
  }
}

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

describe('conv kernels equal the float64 interpreter on random shapes (relative error ≤ 1e-5)', () => {
  const fixed = (overrides: Partial<ConvKernelSpec>, batch: number) => ({
    spec: { ...randomConv().spec, ...overrides },
    batch,
  });
  const cases = [
    ...Array.from({ length: 12 }, randomConv),
    // The fuse-output-0 shape: a 1x1 conv of a lower branch computed at full resolution.
    fixed(
      {
        kernel: 1,
        stride: 1,
        pad: 0,
        inputScale: 2,
        inChannels: 16,
        outChannels: 8,
        height: 4,
        width: 4,
        outHeight: 8,
        outWidth: 8,
        termScales: [1, 4],
        selfIndex: 1,
        relu: true,
        hasBias: true,
      },
      2,
    ),
    fixed(
      {
        kernel: 3,
        stride: 2,
        pad: 1,
        inputScale: 1,
        inChannels: 33,
        outChannels: 70,
        height: 9,
        width: 7,
        outHeight: 5,
        outWidth: 4,
        termScales: [1],
        selfIndex: 0,
        relu: true,
        hasBias: true,
      },
      3,
    ),
  ];
  for (const { spec, batch } of cases) {
    const name = `${spec.kernel}x${spec.kernel}/${spec.stride} pad ${spec.pad} up ${spec.inputScale}, ${spec.inChannels}→${spec.outChannels}, ${spec.height}x${spec.width}, terms [${spec.termScales}] at ${spec.selfIndex}${spec.relu ? ', relu' : ''}${spec.hasBias ? '' : ', no bias'}, batch ${batch}`;
    it(name, async () => {
      const x = randomTensor([batch, spec.inChannels, spec.height, spec.width]);
      const weight = randomTensor([spec.outChannels, spec.inChannels, spec.kernel, spec.kernel]);
      const bias = spec.hasBias
        ? randomTensor([spec.outChannels])
        : { shape: [spec.outChannels], data: new Float64Array(spec.outChannels) };
      const terms = spec.termScales.map((s) =>
        randomTensor([batch, spec.outChannels, spec.outHeight / s, spec.outWidth / s]),
      );
      // The reference sees exactly the float32 values the kernel sees.
      const rounded = (t: Tensor64): Tensor64 => ({ shape: t.shape, data: Float64Array.from(f32(t)) });
      const expected = evaluateOp(convNode(spec), [x, weight, bias, ...terms].map(rounded), batch);

      const outVec = Math.ceil(spec.outChannels / 4) * 4;
      const packed = new Float32Array((weight.data.length / spec.outChannels) * outVec);
      layOut(f32(weight), weight.shape, 'conv-gemm', packed);
      const paddedBias = new Float32Array(outVec);
      layOut(f32(bias), bias.shape, 'vector', paddedBias);
      const data = [
        new Float32Array(expected.data.length),
        f32(x),
        packed,
        ...(spec.hasBias ? [paddedBias] : []),
        ...terms.map(f32),
      ];
      const groups = workgroupCounts({ kind: 'tiles', ...convWorkgroups(spec) }, batch);
      const actual = await runKernel(generateConvKernel(spec), convBindings(spec), data, batch, groups);
      expect(relativeError(actual, expected.data)).toBeLessThanOrEqual(1e-5);
    });
  }
});

describe('elementwise kernels equal the interpreter', () => {
  const batch = 2;
  const cases: [ElementwiseKernelSpec, Node['op'], Record<string, number>, number[][]][] = [
    [{ kind: 'relu', elements: 3 * 5 * 7 }, 'relu', {}, [[batch, 3, 5, 7]]],
    // Values in fours: vec4 loops.
    [{ kind: 'relu', elements: 3 * 4 * 5 }, 'relu', {}, [[batch, 3, 4, 5]]],
    [
      { kind: 'add', elements: 2 * 2 * 6 },
      'add',
      {},
      [
        [batch, 2, 2, 6],
        [batch, 2, 2, 6],
      ],
    ],
    [
      { kind: 'add', elements: 4 * 3 * 3 },
      'add',
      {},
      [
        [batch, 4, 3, 3],
        [batch, 4, 3, 3],
      ],
    ],
    [
      { kind: 'upsample_nearest', channels: 3, height: 5, width: 4, scale: 4 },
      'upsample_nearest',
      { scale: 4 },
      [[batch, 3, 5, 4]],
    ],
    [
      { kind: 'batch_norm', channels: 6, plane: 9, eps: 1e-5 },
      'batch_norm',
      { eps: 1e-5, momentum: 0.1 },
      [[batch, 6, 3, 3], [6], [6], [6], [6]],
    ],
  ];
  for (const [spec, op, attrs, shapes] of cases) {
    it(spec.kind, async () => {
      const args = shapes.map(randomTensor);
      if (op === 'batch_norm') args[4] = { shape: [6], data: args[4]!.data.map((v) => v + 1.5) };
      const rounded = args.map((t) => ({ shape: t.shape, data: Float64Array.from(f32(t)) }));
      const outShape = op === 'upsample_nearest' ? [batch, 3, 20, 16] : shapes[0]!;
      const node: Node = {
        id: 0,
        op,
        inputs: [],
        type: { dtype: 'f32', shape: ['N', ...outShape.slice(1)] },
        attrs,
        module: 'test',
      };
      const expected = evaluateOp(node, rounded, batch);
      const groups = workgroupCounts({ kind: 'grid-stride', ...elementwiseWorkgroups(spec) }, batch);
      const run = (kernel: ElementwiseKernelSpec) =>
        runKernel(
          generateElementwiseKernel(kernel),
          elementwiseBindings(kernel),
          [new Float32Array(expected.data.length), ...args.map(f32)],
          batch,
          groups,
        );
      expect(relativeError(await run(spec), expected.data)).toBeLessThanOrEqual(1e-6);
      // The training planner's add with the ReLU that reads it: max(a + b, 0).
      if (spec.kind === 'add') {
        const relu = Float64Array.from(expected.data, (v) => Math.max(v, 0));
        expect(relativeError(await run({ ...spec, relu: true }), relu)).toBeLessThanOrEqual(1e-6);
      }
    });
  }
});
