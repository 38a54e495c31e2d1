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

/**
 * The input gradient of a convolution as a convolution: of the output gradient, read with stride − 1
 * zeros after each value, with the flipped, transposed weight, padded by k − 1 − pad.
 */
export function inputGradientConv(s: ConvShape): ConvShape & { readonly inputDilation: number } {
  return {
    inChannels: s.outChannels,
    height: s.outHeight,
    width: s.outWidth,
    outChannels: s.inChannels,
    outHeight: s.height,
    outWidth: s.width,
    kernel: s.kernel,
    stride: 1,
    pad: s.kernel - 1 - s.pad,
    inputDilation: s.stride,
  };
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

/** The batch size tiles are chosen for (kernels work for any). */
const nominalBatch = 16;

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
    nValue: nominalBatch * s.outHeight * s.outWidth,
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

/**
 * The input pixels of one stride class: y ≡ py and x ≡ px (mod stride). Only the taps with
 * ky ≡ py + pad (mod stride) (and likewise kx) reach such a pixel from an output position, so
 * splitting dx by class skips the zero terms of a strided transposed convolution (3/4 of them at
 * stride 2) instead of multiplying them.
 */
export interface StrideClass {
  readonly py: number;
  readonly px: number;
  /** Input rows and columns in the class. */
  readonly rows: number;
  readonly cols: number;
  /** The first tap row and column that reach the class, and how many do. */
  readonly firstTapY: number;
  readonly firstTapX: number;
  readonly tapsY: number;
  readonly tapsX: number;
}

/** The stride classes that hold pixels (one class, the whole image, at stride 1). */
export function strideClasses(s: ConvShape): StrideClass[] {
  const classes: StrideClass[] = [];
  const count = (size: number, first: number) => (first < size ? Math.ceil((size - first) / s.stride) : 0);
  for (let py = 0; py < s.stride; py++) {
    for (let px = 0; px < s.stride; px++) {
      const firstTapY = (py + s.pad) % s.stride;
      const firstTapX = (px + s.pad) % s.stride;
      const rows = count(s.height, py);
      const cols = count(s.width, px);
      if (rows === 0 || cols === 0) continue;
      classes.push({
        py,
        px,
        rows,
        cols,
        firstTapY,
        firstTapX,
        tapsY: count(s.kernel, firstTapY),
        tapsX: count(s.kernel, firstTapX),
      });
    }
  }
  return classes;
}

/**
 * dx = the transposed convolution of dy with W over one stride class: each input pixel of the class
 * sums, over output channels and the taps that reach it, dy × W. A GEMM with M = input channels,
 * N = the class's pixels over the batch, K = output channels × reaching taps.
 */
export function convGradInputSpec(s: ConvShape, c: StrideClass): GemmSpec {
  const classTaps = c.tapsY * c.tapsX;
  return {
    description: describe(
      `input gradient${s.stride > 1 ? ` (pixels y≡${c.py}, x≡${c.px} mod ${s.stride})` : ''}`,
      s,
    ),
    bindings: [
      { name: 'dx', access: 'read_write', element: 'f32' },
      { name: 'dy', access: 'read_write', element: 'f32' },
      { name: 'weight', access: 'read_write', element: 'f32' },
    ],
    m: 'CIN',
    n: 'params.batch * ROWS * COLS',
    k: 'COUT * CLASS_TAPS',
    mValue: s.inChannels,
    nValue: nominalBatch * c.rows * c.cols,
    splits: 1,
    constants: [
      ...constants(s),
      ['PY', c.py],
      ['PX', c.px],
      ['ROWS', c.rows],
      ['COLS', c.cols],
      ['FIRST_TAP_Y', c.firstTapY],
      ['FIRST_TAP_X', c.firstTapX],
      ['TAPS_X', Math.max(1, c.tapsX)],
      // At least 1 so that the divisions below stay defined; K is 0 when no tap reaches the class.
      ['CLASS_TAPS', classTaps],
      ['TAP_DIVISOR', Math.max(1, classTaps)],
    ],
    functions: `fn tapY(k: u32) -> u32 {
  return FIRST_TAP_Y + ((k % TAP_DIVISOR) / TAPS_X) * STRIDE;
}

fn tapX(k: u32) -> u32 {
  return FIRST_TAP_X + ((k % TAP_DIVISOR) % TAPS_X) * STRIDE;
}

fn pixelY(n: u32) -> u32 {
  return PY + ((n % (ROWS * COLS)) / COLS) * STRIDE;
}

fn pixelX(n: u32) -> u32 {
  return PX + ((n % (ROWS * COLS)) % COLS) * STRIDE;
}

fn loadA(m: u32, k: u32) -> f32 {
  return weight[(((k / TAP_DIVISOR) * CIN + m) * KSIZE + tapY(k)) * KSIZE + tapX(k)];
}

fn loadB(k: u32, n: u32) -> f32 {
  // (pixel + pad − tap) is a multiple of the stride by the choice of class and taps.
  let ty = i32(pixelY(n) + PAD) - i32(tapY(k));
  let tx = i32(pixelX(n) + PAD) - i32(tapX(k));
  if (ty < 0 || tx < 0) {
    return 0.0;
  }
  let oy = u32(ty) / STRIDE;
  let ox = u32(tx) / STRIDE;
  if (oy >= HO || ox >= WO) {
    return 0.0;
  }
  return dy[(((n / (ROWS * COLS)) * COUT + k / TAP_DIVISOR) * HO + oy) * WO + ox];
}

fn store(m: u32, n: u32, value: f32, split: u32) {
  dx[((n / (ROWS * COLS)) * CIN + m) * H * W + pixelY(n) * W + pixelX(n)] = value;
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
export function convGradWeightSpec(s: ConvShape, splits = weightGradientSplits(s)): GemmSpec {
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
    nValue: s.inChannels * s.kernel * s.kernel,
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
