import { declareBindings, generatorHeader, type KernelBinding, u32 } from './bindings.ts';
import { convEpilogueSum } from './conv-epilogue.ts';

/** Everything a convolution kernel is specialised on. Shapes are per image; the batch is a uniform. */
export interface ConvKernelSpec {
  readonly kind: 'conv';
  readonly inChannels: number;
  readonly height: number;
  readonly width: number;
  /** The input is read nearest-upsampled by this factor. */
  readonly inputScale: number;
  /**
   * The input is read with d − 1 zeros after each value along both axes (virtual index v is value
   * v / d where d divides v, else 0): the transposed convolution of a stride-d one, which is the input
   * gradient of that convolution. Only the direct kernel reads such an input.
   */
  readonly inputDilation?: number;
  readonly outChannels: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly kernel: number;
  readonly stride: number;
  readonly pad: number;
  readonly hasBias: boolean;
  /** Summed terms other than the conv itself, each at 1/scale resolution, and the conv's place. */
  readonly termScales: readonly number[];
  readonly selfIndex: number;
  readonly relu: boolean;
}

/**
 * A convolution's spec from its channels and input size, by default a padded 3×3 at stride 1 with a
 * bias and nothing fused; the output size follows from the input, kernel, stride, pad and upsampling.
 */
export function convKernelSpec(
  shape: Pick<ConvKernelSpec, 'inChannels' | 'outChannels' | 'height' | 'width'> & Partial<ConvKernelSpec>,
): ConvKernelSpec {
  const base = {
    kind: 'conv' as const,
    inputScale: 1,
    kernel: 3,
    stride: 1,
    pad: 1,
    hasBias: true,
    termScales: [],
    selfIndex: 0,
    relu: false,
    ...shape,
  };
  const size = (n: number) =>
    Math.floor((n * base.inputScale + 2 * base.pad - base.kernel) / base.stride) + 1;
  return { ...base, outHeight: size(base.height), outWidth: size(base.width) };
}

export interface ConvTiling {
  /** Output channels per workgroup (a multiple of 4: one vec4 per thread row). */
  readonly tileM: number;
  /** Output pixels (over the whole batch) per workgroup. */
  readonly tileN: number;
  /** Reduction step held in workgroup memory. */
  readonly tileK: number;
  /** Pixels per thread; tileN (≤ threads) divides the thread count. */
  readonly perThreadN: number;
  readonly threads: number;
}

/**
 * Tiles for 256 threads, each computing 4 output channels × 4 pixels: narrow layers (few output
 * channels) get wide pixel tiles so no thread idles on padding channels.
 */
export function chooseConvTiling(spec: ConvKernelSpec): ConvTiling {
  const threads = 256;
  const tileM = Math.min(64, Math.max(8, 2 ** Math.ceil(Math.log2(Math.max(1, spec.outChannels)))));
  // The B tile's columns are gathered one per thread, so tileN must divide the thread count.
  const perThreadN = tileM === 8 ? 2 : 4;
  const tileN = (threads / (tileM / 4)) * perThreadN;
  return { tileM, tileN, tileK: 16, perThreadN, threads };
}

export function convBindings(spec: ConvKernelSpec): KernelBinding[] {
  return [
    { name: 'out', access: 'read_write', element: 'f32' },
    { name: 'x', access: 'read_write', element: 'f32' },
    { name: 'weight', access: 'read', element: 'vec4<f32>' },
    ...(spec.hasBias ? [{ name: 'bias', access: 'read' as const, element: 'f32' as const }] : []),
    ...spec.termScales.map((_, i) => ({
      name: `term${i}`,
      access: 'read_write' as const,
      element: 'f32' as const,
    })),
  ];
}

export function describeConv(spec: ConvKernelSpec): string {
  const parts = [
    `conv ${spec.kernel}x${spec.kernel}${spec.stride > 1 ? `/${spec.stride}` : ''}`,
    `${spec.inChannels}→${spec.outChannels}`,
    `${spec.height * spec.inputScale}x${spec.width * spec.inputScale}→${spec.outHeight}x${spec.outWidth}`,
  ];
  if (spec.inputScale > 1) parts.push(`input upsampled x${spec.inputScale}`);
  if ((spec.inputDilation ?? 1) > 1) parts.push(`input dilated x${spec.inputDilation}`);
  if (spec.termScales.length > 0) parts.push(`sum of ${spec.termScales.length + 1} terms`);
  if (spec.relu) parts.push('relu');
  return parts.join(', ');
}

/**
 * Convolution as an implicit GEMM: out[co, p] = Σ_k W[co, k] · X[k, p] with k = (ci, ky, kx) and
 * p = (image, oy, ox). Each workgroup stages a tileK-deep slice of weights and gathered input in
 * workgroup memory; each thread accumulates 4 channels × perThreadN pixels in vec4 registers. The
 * epilogue adds the bias, the other terms in their original order (upsampled on the fly) and ReLU.
 */
export function generateConvKernel(spec: ConvKernelSpec): string {
  for (const scale of spec.termScales) {
    if (spec.outHeight % scale !== 0 || spec.outWidth % scale !== 0) {
      throw new Error(
        `a term at 1/${scale} resolution does not tile a ${spec.outHeight}x${spec.outWidth} output`,
      );
    }
  }
  const t = chooseConvTiling(spec);
  const k = spec.inChannels * spec.kernel * spec.kernel;
  const outVec = Math.ceil(spec.outChannels / 4);
  const threadsM = t.tileM / 4;
  const bRowStep = t.threads / t.tileN;
  const taps = spec.kernel * spec.kernel;
  const gather =
    spec.kernel === 1
      ? ['        let ci = k;', '        let vy = iy0;', '        let vx = ix0;']
      : [
          `        let ci = k / ${u32(taps)};`,
          `        let tap = k % ${u32(taps)};`,
          `        let vy = iy0 + i32(tap / ${u32(spec.kernel)});`,
          `        let vx = ix0 + i32(tap % ${u32(spec.kernel)});`,
        ];
  const scaled = (v: string) => (spec.inputScale === 1 ? `u32(${v})` : `u32(${v}) / ${u32(spec.inputScale)}`);
  // Separate registers and unrolled indices: dynamically indexed arrays cost seconds of compile
  // time per kernel on lavapipe.
  const lanes = Array.from({ length: t.perThreadN }, (_, j) => j);
  const declareAccumulators = lanes.map((j) => `  var acc${j} = vec4<f32>(0.0);`);
  const accumulate = lanes.map((j) => `      acc${j} = fma(a, vec4<f32>(tileB[b + ${u32(j)}]), acc${j});`);
  const stores = lanes.flatMap((j) =>
    [0, 1, 2, 3].map(
      (i) =>
        `  store(n0 + tn * ${u32(t.perThreadN)} + ${u32(j)}, m0 + tm * 4u + ${u32(i)}, acc${j}.${'xyzw'[i]}, columns);`,
    ),
  );
  const sumLines = convEpilogueSum(spec, '  ');

  return `${generatorHeader('compiler/codegen/wgsl/conv-gemm.ts', describeConv(spec))}

${declareBindings(convBindings(spec))}

const CIN: u32 = ${u32(spec.inChannels)};
const H: u32 = ${u32(spec.height)};
const W: u32 = ${u32(spec.width)};
const COUT: u32 = ${u32(spec.outChannels)};
const COUT_VEC: u32 = ${u32(outVec)};
const HO: u32 = ${u32(spec.outHeight)};
const WO: u32 = ${u32(spec.outWidth)};
const PIXELS: u32 = ${u32(spec.outHeight * spec.outWidth)};
const K: u32 = ${u32(k)};
const VIRTUAL_H: i32 = ${spec.height * spec.inputScale};
const VIRTUAL_W: i32 = ${spec.width * spec.inputScale};
const TILE_M: u32 = ${u32(t.tileM)};
const TILE_N: u32 = ${u32(t.tileN)};
const TILE_K: u32 = ${u32(t.tileK)};
const THREADS_M: u32 = ${u32(threadsM)};

var<workgroup> tileA: array<vec4<f32>, ${(t.tileK * t.tileM) / 4}>;
var<workgroup> tileB: array<f32, ${t.tileK * t.tileN}>;

@compute @workgroup_size(${t.threads})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let columns = params.batch * PIXELS;
  let n0 = group.x * TILE_N;
  let m0 = group.y * TILE_M;
  let tm = lid % THREADS_M;
  let tn = lid / THREADS_M;

  // The input column this thread gathers for the B tile, decomposed once.
  let bn = lid % TILE_N;
  let column = n0 + bn;
  let columnValid = column < columns;
  let columnImage = column / PIXELS;
  let columnPixel = column % PIXELS;
  let iy0 = i32((columnPixel / WO) * ${u32(spec.stride)}) - ${spec.pad};
  let ix0 = i32((columnPixel % WO) * ${u32(spec.stride)}) - ${spec.pad};
  let xImage = columnImage * CIN * H * W;

${declareAccumulators.join('\n')}
  for (var k0 = 0u; k0 < K; k0 = k0 + TILE_K) {
    for (var i = lid; i < TILE_K * TILE_M / 4u; i = i + ${u32(t.threads)}) {
      let k = k0 + i / (TILE_M / 4u);
      let mv = m0 / 4u + i % (TILE_M / 4u);
      var a = vec4<f32>(0.0);
      if (k < K && mv < COUT_VEC) {
        a = weight[k * COUT_VEC + mv];
      }
      tileA[i] = a;
    }
    for (var kk = lid / TILE_N; kk < TILE_K; kk = kk + ${u32(bRowStep)}) {
      let k = k0 + kk;
      var v = 0.0;
      if (columnValid && k < K) {
${gather.join('\n')}
        if (vy >= 0 && vy < VIRTUAL_H && vx >= 0 && vx < VIRTUAL_W) {
          v = x[xImage + ci * H * W + ${scaled('vy')} * W + ${scaled('vx')}];
        }
      }
      tileB[kk * TILE_N + bn] = v;
    }
    workgroupBarrier();
    // A loop bound the compiler cannot see: unrolling it costs about a second of compile time per
    // kernel on lavapipe and gains little.
    let kEnd = min(TILE_K, K - k0);
    for (var kk = 0u; kk < kEnd; kk = kk + 1u) {
      let a = tileA[kk * (TILE_M / 4u) + tm];
      let b = kk * TILE_N + tn * ${u32(t.perThreadN)};
${accumulate.join('\n')}
    }
    workgroupBarrier();
  }

${stores.join('\n')}
}

/** The epilogue for one output value: bias, the sum in its original order, ReLU. */
fn store(n: u32, co: u32, accumulated: f32, columns: u32) {
  if (n >= columns || co >= COUT) {
    return;
  }
  let image = n / PIXELS;
  let pixel = n % PIXELS;
  let oy = pixel / WO;
  let ox = pixel % WO;
  let outIndex = (image * COUT + co) * PIXELS + pixel;
  let own = accumulated${spec.hasBias ? ' + bias[co]' : ''};
${sumLines.join('\n')}
  out[outIndex] = sum;
}
`;
}

export function convWorkgroups(spec: ConvKernelSpec): {
  columnsPerImage: number;
  columnsPerGroup: number;
  rows: number;
} {
  const t = chooseConvTiling(spec);
  return {
    columnsPerImage: spec.outHeight * spec.outWidth,
    columnsPerGroup: t.tileN,
    rows: Math.ceil(spec.outChannels / t.tileM),
  };
}
