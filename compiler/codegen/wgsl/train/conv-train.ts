import type { GemmSpec } from './gemm.ts';

/** One convolution's sizes (per image). */
export interface ConvShape {
  readonly inChannels: number;
  readonly height: number;
  readonly width: number;
  readonly outChannels: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly kernel: number;
  readonly stride: number;
  readonly pad: number;
}

function constants(s: ConvShape): [string, number][] {
  return [
    ['CIN', s.inChannels],
    ['H', s.height],
    ['W', s.width],
    ['COUT', s.outChannels],
    ['HO', s.outHeight],
    ['WO', s.outWidth],
    ['KSIZE', s.kernel],
    ['TAPS', s.kernel * s.kernel],
    ['STRIDE', s.stride],
    ['PAD', s.pad],
  ];
}

const describe = (what: string, s: ConvShape) =>
  `${what} of conv ${s.kernel}x${s.kernel}${s.stride > 1 ? `/${s.stride}` : ''} ${s.inChannels}→${s.outChannels}, ${s.height}x${s.width}→${s.outHeight}x${s.outWidth}`;

/** The input value a (tap, output position) pair reads, 0 in the padding. */
const readInput = `fn inputAt(image: u32, ci: u32, tap: u32, pixel: u32) -> f32 {
  let iy = i32((pixel / WO) * STRIDE + tap / KSIZE) - i32(PAD);
  let ix = i32((pixel % WO) * STRIDE + tap % KSIZE) - i32(PAD);
  if (iy < 0 || ix < 0 || iy >= i32(H) || ix >= i32(W)) {
    return 0.0;
  }
  return x[((image * CIN + ci) * H + u32(iy)) * W + u32(ix)];
}`;

/** Training forward: out = conv(x, W) (+ bias), weights in the official [O, I, k, k] layout. */
export function convForwardSpec(s: ConvShape, hasBias: boolean): GemmSpec {
  return {
    description: describe(`forward${hasBias ? ' with bias' : ''}`, s),
    bindings: [
      { name: 'out', access: 'read_write', element: 'f32' },
      { name: 'x', access: 'read_write', element: 'f32' },
      { name: 'weight', access: 'read_write', element: 'f32' },
      ...(hasBias ? [{ name: 'bias', access: 'read_write' as const, element: 'f32' as const }] : []),
    ],
    m: 'COUT',
    n: 'params.batch * HO * WO',
    k: 'CIN * TAPS',
    mValue: s.outChannels,
    splits: 1,
    constants: constants(s),
    functions: `${readInput}

fn loadA(m: u32, k: u32) -> f32 {
  return weight[m * CIN * TAPS + k];
}

fn loadB(k: u32, n: u32) -> f32 {
  return inputAt(n / (HO * WO), k / TAPS, k % TAPS, n % (HO * WO));
}

fn store(m: u32, n: u32, value: f32, split: u32) {
  out[((n / (HO * WO)) * COUT + m) * HO * WO + n % (HO * WO)] = value${hasBias ? ' + bias[m]' : ''};
}`,
  };
}

/** dx = the transposed convolution of dy with W: each input position sums the outputs it fed. */
export function convGradInputSpec(s: ConvShape): GemmSpec {
  return {
    description: describe('input gradient', s),
    bindings: [
      { name: 'dx', access: 'read_write', element: 'f32' },
      { name: 'dy', access: 'read_write', element: 'f32' },
      { name: 'weight', access: 'read_write', element: 'f32' },
    ],
    m: 'CIN',
    n: 'params.batch * H * W',
    k: 'COUT * TAPS',
    mValue: s.inChannels,
    splits: 1,
    constants: constants(s),
    functions: `fn loadA(m: u32, k: u32) -> f32 {
  return weight[((k / TAPS) * CIN + m) * TAPS + k % TAPS];
}

fn loadB(k: u32, n: u32) -> f32 {
  let tap = k % TAPS;
  let pixel = n % (H * W);
  let ty = i32(pixel / W + PAD) - i32(tap / KSIZE);
  let tx = i32(pixel % W + PAD) - i32(tap % KSIZE);
  if (ty < 0 || tx < 0 || u32(ty) % STRIDE != 0u || u32(tx) % STRIDE != 0u) {
    return 0.0;
  }
  let oy = u32(ty) / STRIDE;
  let ox = u32(tx) / STRIDE;
  if (oy >= HO || ox >= WO) {
    return 0.0;
  }
  return dy[(((n / (H * W)) * COUT + k / TAPS) * HO + oy) * WO + ox];
}

fn store(m: u32, n: u32, value: f32, split: u32) {
  dx[((n / (H * W)) * CIN + m) * H * W + n % (H * W)] = value;
}`,
  };
}

/** How many slices the weight gradient's N·Ho·Wo reduction is split into. */
export function weightGradientSplits(s: ConvShape): number {
  return Math.min(32, Math.max(1, Math.floor((s.outHeight * s.outWidth) / 64)));
}

/**
 * dW = Σ over the batch and output positions of dy × input, as a GEMM whose reduction (N·Ho·Wo, huge
 * for early layers) is split over workgroups into partial sums, reduced afterwards in a fixed order.
 */
export function convGradWeightSpec(s: ConvShape): GemmSpec {
  const splits = weightGradientSplits(s);
  const target = splits > 1 ? 'partial[(split * COUT + m) * CIN * TAPS + n]' : 'dw[m * CIN * TAPS + n]';
  return {
    description: describe(`weight gradient${splits > 1 ? ` (${splits} partial sums)` : ''}`, s),
    bindings: [
      splits > 1
        ? { name: 'partial', access: 'read_write', element: 'f32' }
        : { name: 'dw', access: 'read_write', element: 'f32' },
      { name: 'x', access: 'read_write', element: 'f32' },
      { name: 'dy', access: 'read_write', element: 'f32' },
    ],
    m: 'COUT',
    n: 'CIN * TAPS',
    k: 'params.batch * HO * WO',
    mValue: s.outChannels,
    splits,
    constants: constants(s),
    functions: `${readInput}

fn loadA(m: u32, k: u32) -> f32 {
  return dy[((k / (HO * WO)) * COUT + m) * HO * WO + k % (HO * WO)];
}

fn loadB(k: u32, n: u32) -> f32 {
  return inputAt(k / (HO * WO), n / TAPS, n % TAPS, k % (HO * WO));
}

fn store(m: u32, n: u32, value: f32, split: u32) {
  ${target} = value;
}`,
  };
}
