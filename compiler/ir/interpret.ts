import type { Graph, Node } from './graph.ts';
import { concreteShape } from './tensor-type.ts';

/** A dense float64 tensor; shapes are concrete (the batch is known). */
export interface Tensor64 {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export interface InterpretInputs {
  readonly batch: number;
  /** The graph input (the `input` node named `input`), NCHW. */
  readonly input: Float64Array | Float32Array;
  /** Other inputs by name (training graphs also take `target` and `target_weight`). */
  readonly extraInputs?: ReadonlyMap<string, Float64Array | Float32Array>;
  /** Parameters by official name. */
  readonly parameters: ReadonlyMap<string, Float64Array | Float32Array>;
}

/**
 * The float64 CPU interpreter: the living definition of every op, and the reference that GPU
 * kernels are tested against. Deliberately plain loops, independent of the GPU path.
 */
export function interpretGraph(graph: Graph, inputs: InterpretInputs): Tensor64[] {
  const values: Tensor64[] = [];
  for (const node of graph.nodes) values.push(evaluateNode(node, values, inputs));
  return values;
}

/** One op applied to given argument tensors (for testing a kernel on its own). */
export function evaluateOp(node: Node, args: readonly Tensor64[], batch: number): Tensor64 {
  const remapped = { ...node, inputs: args.map((_, i) => i) };
  return evaluateNode(remapped, args, { batch, input: new Float64Array(0), parameters: new Map() });
}

/** The values of the graph's outputs, in order. */
export function interpretOutputs(graph: Graph, inputs: InterpretInputs): Tensor64[] {
  const values = interpretGraph(graph, inputs);
  return graph.nodes.filter((n) => n.op === 'output').map((n) => values[n.id]!);
}

function evaluateNode(node: Node, values: readonly Tensor64[], inputs: InterpretInputs): Tensor64 {
  const shape = concreteShape(node.type, inputs.batch);
  const args = node.inputs.map((i) => values[i]!);
  const a = node.attrs as unknown as OpAttrs;
  switch (node.op) {
    case 'input': {
      const data = node.module === 'input' ? inputs.input : inputs.extraInputs?.get(node.module);
      if (!data) throw new Error(`missing input ${node.module}`);
      return checked(shape, Float64Array.from(data), node.module);
    }
    case 'parameter': {
      const data = inputs.parameters.get(node.module);
      if (!data) throw new Error(`missing parameter ${node.module}`);
      return checked(shape, Float64Array.from(data), node.module);
    }
    case 'output':
      return args[0]!;
    case 'relu':
      return { shape, data: args[0]!.data.map((v) => Math.max(v, 0)) };
    case 'add': {
      const [x, y] = args as [Tensor64, Tensor64];
      return { shape, data: x.data.map((v, i) => v + y.data[i]!) };
    }
    case 'upsample_nearest':
      return { shape, data: upsample(args[0]!, a.scale) };
    case 'batch_norm':
      return batchNormInference(args as [Tensor64, Tensor64, Tensor64, Tensor64, Tensor64], a.eps);
    case 'conv2d':
      return conv2d(args[0]!, args[1]!, args[2], shape, a.stride, a.pad, 1);
    case 'fold_bn_weight': {
      const [weight, gamma, variance] = args as [Tensor64, Tensor64, Tensor64];
      const perOut = weight.data.length / weight.shape[0]!;
      return {
        shape,
        data: weight.data.map((v, i) => v * bnScale(gamma, variance, Math.floor(i / perOut), a.eps)),
      };
    }
    case 'fold_bn_bias': {
      const [gamma, beta, mean, variance, bias] = args as [Tensor64, Tensor64, Tensor64, Tensor64, Tensor64?];
      return {
        shape,
        data: beta.data.map(
          (b, c) => b + ((bias?.data[c] ?? 0) - mean.data[c]!) * bnScale(gamma, variance, c, a.eps),
        ),
      };
    }
    case 'bn_stats':
      return { shape, data: channelStats(args[0]!) };
    case 'bn_train': {
      const [x, stats, gamma, beta] = args as [Tensor64, Tensor64, Tensor64, Tensor64];
      return normalize(x, stats, a.eps, (v, c) => v * gamma.data[c]! + beta.data[c]!);
    }
    case 'bn_running': {
      const [mean, variance, stats] = args as [Tensor64, Tensor64, Tensor64];
      const c = mean.data.length;
      const n = inputs.batch * a.plane;
      const data = new Float64Array(2 * c);
      for (let k = 0; k < c; k++) {
        data[k] = (1 - a.momentum) * mean.data[k]! + a.momentum * stats.data[k]!;
        data[c + k] = (1 - a.momentum) * variance.data[k]! + a.momentum * stats.data[c + k]! * (n / (n - 1));
      }
      return { shape, data };
    }
    case 'mse_loss': {
      const [output, target, weight] = args as [Tensor64, Tensor64, Tensor64];
      const [n, joints, h, w] = output.shape as [number, number, number, number];
      let sum = 0;
      for (let i = 0; i < output.data.length; i++) {
        const tw = a.use_target_weight ? weight.data[Math.floor(i / (h * w))]! : 1;
        sum += (output.data[i]! * tw - target.data[i]! * tw) ** 2;
      }
      return { shape, data: Float64Array.of((0.5 * sum) / (joints * n * h * w)) };
    }
    case 'mse_loss_grad': {
      const [output, target, weight] = args as [Tensor64, Tensor64, Tensor64];
      const [n, joints, h, w] = output.shape as [number, number, number, number];
      const scale = 1 / (joints * n * h * w);
      return {
        shape,
        data: output.data.map((v, i) => {
          const tw = a.use_target_weight ? weight.data[Math.floor(i / (h * w))]! : 1;
          return scale * tw * (v * tw - target.data[i]! * tw);
        }),
      };
    }
    case 'relu_grad': {
      const [dy, y] = args as [Tensor64, Tensor64];
      return { shape, data: dy.data.map((g, i) => (y.data[i]! > 0 ? g : 0)) };
    }
    case 'conv2d_grad_input':
      return convGradInput(args[0]!, args[1]!, shape, a.stride, a.pad);
    case 'conv2d_grad_weight':
      return convGradWeight(args[0]!, args[1]!, shape, a.stride, a.pad);
    case 'channel_sum':
      return { shape, data: channelSums(reluMasked(args[0]!, args[1]), (v) => v) };
    case 'bn_grad_gamma': {
      const [x, stats] = args.slice(1) as [Tensor64, Tensor64];
      const dy = reluMasked(args[0]!, args[3]);
      const normalized = normalize(x, stats, a.eps, (v) => v);
      return { shape, data: channelSums(dy, (g, i) => g * normalized.data[i]!) };
    }
    case 'bn_grad_input': {
      const [x, stats, gamma, dGamma, dBeta] = args.slice(1) as [
        Tensor64,
        Tensor64,
        Tensor64,
        Tensor64,
        Tensor64,
      ];
      const dy = reluMasked(args[0]!, args[6]);
      const [n, c, h, w] = x.shape as [number, number, number, number];
      const count = n * h * w;
      const normalized = normalize(x, stats, a.eps, (v) => v);
      return {
        shape,
        data: dy.data.map((g, i) => {
          const k = Math.floor(i / (h * w)) % c;
          const invStd = 1 / Math.sqrt(stats.data[c + k]! + a.eps);
          return (
            ((gamma.data[k]! * invStd) / count) *
            (count * g - dBeta.data[k]! - normalized.data[i]! * dGamma.data[k]!)
          );
        }),
      };
    }
    case 'upsample_nearest_grad': {
      const dy = args[0]!;
      const [n, c, h, w] = shape as [number, number, number, number];
      const s = a.scale;
      const data = new Float64Array(n * c * h * w);
      for (let plane = 0; plane < n * c; plane++) {
        for (let y = 0; y < h * s; y++) {
          for (let x = 0; x < w * s; x++) {
            data[plane * h * w + Math.floor(y / s) * w + Math.floor(x / s)]! +=
              dy.data[(plane * h * s + y) * w * s + x]!;
          }
        }
      }
      return { shape, data };
    }
    case 'fused_conv2d': {
      const [x, weight, bias, ...terms] = args as [Tensor64, Tensor64, Tensor64, ...Tensor64[]];
      const own = conv2d(x, weight, bias, shape, a.stride, a.pad, a.input_scale);
      return { shape, data: epilogue(own, terms, a.term_scales, a.self_index, a.relu) };
    }
  }
}

/** The attributes the interpreter reads; the verifier guarantees each op has its own. */
interface OpAttrs {
  readonly scale: number;
  readonly eps: number;
  readonly stride: number;
  readonly pad: number;
  readonly input_scale: number;
  readonly self_index: number;
  readonly relu: boolean;
  readonly term_scales: readonly number[];
  readonly momentum: number;
  readonly plane: number;
  readonly use_target_weight: boolean;
}

/** Per channel of NCHW: [mean..., biased variance...] over N, H and W (two passes, as written). */
function channelStats(x: Tensor64): Float64Array {
  const [, c] = x.shape as [number, number];
  const count = x.data.length / c;
  const mean = channelSums(x, (v) => v).map((s) => s / count);
  const variance = channelSums(x, (v, _, k) => (v - mean[k]!) ** 2).map((s) => s / count);
  return Float64Array.from([...mean, ...variance]);
}

/** Σ over N, H, W of f(value, index, channel), per channel. */
/** dy where the ReLU output `y` is positive, when a ReLU mask is fused in (else dy). */
function reluMasked(dy: Tensor64, y: Tensor64 | undefined): Tensor64 {
  if (!y) return dy;
  return { shape: dy.shape, data: dy.data.map((g, i) => (y.data[i]! > 0 ? g : 0)) };
}

function channelSums(
  x: Tensor64,
  f: (value: number, index: number, channel: number) => number,
): Float64Array {
  const [, c, h, w] = x.shape as [number, number, number, number];
  const sums = new Float64Array(c);
  for (let i = 0; i < x.data.length; i++) {
    const k = Math.floor(i / (h * w)) % c;
    sums[k]! += f(x.data[i]!, i, k);
  }
  return sums;
}

/** g((x − mean) / √(var + eps), channel) for every element. */
function normalize(
  x: Tensor64,
  stats: Tensor64,
  eps: number,
  g: (normalized: number, channel: number) => number,
): Tensor64 {
  const [, c, h, w] = x.shape as [number, number, number, number];
  return {
    shape: x.shape,
    data: x.data.map((v, i) => {
      const k = Math.floor(i / (h * w)) % c;
      return g((v - stats.data[k]!) / Math.sqrt(stats.data[c + k]! + eps), k);
    }),
  };
}

/** The sizes of a convolution x [N, Cin, H, W] ⊛ W [Cout, Cin, k, k] → y [N, Cout, Ho, Wo]. */
interface ConvSizes {
  readonly n: number;
  readonly cin: number;
  readonly h: number;
  readonly w: number;
  readonly cout: number;
  readonly k: number;
  readonly ho: number;
  readonly wo: number;
  readonly stride: number;
  readonly pad: number;
}

/**
 * Calls `visit(xIndex, weightIndex, yIndex)` for every product a convolution forms (taps in the
 * padding excluded): both gradients are sums of these products, grouped differently.
 */
function forEachConvProduct(s: ConvSizes, visit: (xi: number, wi: number, yi: number) => void): void {
  for (let b = 0; b < s.n; b++) {
    for (let co = 0; co < s.cout; co++) {
      for (let ci = 0; ci < s.cin; ci++) {
        for (let ky = 0; ky < s.k; ky++) {
          for (let kx = 0; kx < s.k; kx++) {
            const wi = ((co * s.cin + ci) * s.k + ky) * s.k + kx;
            for (let oy = 0; oy < s.ho; oy++) {
              const iy = oy * s.stride - s.pad + ky;
              if (iy < 0 || iy >= s.h) continue;
              for (let ox = 0; ox < s.wo; ox++) {
                const ix = ox * s.stride - s.pad + kx;
                if (ix < 0 || ix >= s.w) continue;
                visit(
                  ((b * s.cin + ci) * s.h + iy) * s.w + ix,
                  wi,
                  ((b * s.cout + co) * s.ho + oy) * s.wo + ox,
                );
              }
            }
          }
        }
      }
    }
  }
}

function convSizes(
  x: readonly number[],
  y: readonly number[],
  k: number,
  stride: number,
  pad: number,
): ConvSizes {
  const [n, cin, h, w] = x as [number, number, number, number];
  const [, cout, ho, wo] = y as [number, number, number, number];
  return { n, cin, h, w, cout, k, ho, wo, stride, pad };
}

/** dx of a convolution: every output position's gradient spread back over the inputs it read. */
function convGradInput(
  dy: Tensor64,
  weight: Tensor64,
  shape: number[],
  stride: number,
  pad: number,
): Tensor64 {
  const dx = new Float64Array(shape.reduce((p, d) => p * d, 1));
  forEachConvProduct(convSizes(shape, dy.shape, weight.shape[2]!, stride, pad), (xi, wi, yi) => {
    dx[xi]! += weight.data[wi]! * dy.data[yi]!;
  });
  return { shape, data: dx };
}

/** dW of a convolution: Σ over the batch and output positions of dy × the input it read. */
function convGradWeight(x: Tensor64, dy: Tensor64, shape: number[], stride: number, pad: number): Tensor64 {
  const dw = new Float64Array(shape.reduce((p, d) => p * d, 1));
  forEachConvProduct(convSizes(x.shape, dy.shape, shape[2]!, stride, pad), (xi, wi, yi) => {
    dw[wi]! += dy.data[yi]! * x.data[xi]!;
  });
  return { shape, data: dw };
}

function checked(shape: number[], data: Float64Array, what: string): Tensor64 {
  const expected = shape.reduce((n, d) => n * d, 1);
  if (data.length !== expected)
    throw new Error(`${what} has ${data.length} values, expected ${expected} (${shape.join('x')})`);
  return { shape, data };
}

function bnScale(gamma: Tensor64, variance: Tensor64, c: number, eps: number): number {
  return gamma.data[c]! / Math.sqrt(variance.data[c]! + eps);
}

function batchNormInference(
  [x, gamma, beta, mean, variance]: [Tensor64, Tensor64, Tensor64, Tensor64, Tensor64],
  eps: number,
): Tensor64 {
  const [, channels, h, w] = x.shape as [number, number, number, number];
  const plane = h * w;
  const data = x.data.map((v, i) => {
    const c = Math.floor(i / plane) % channels;
    return ((v - mean.data[c]!) / Math.sqrt(variance.data[c]! + eps)) * gamma.data[c]! + beta.data[c]!;
  });
  return { shape: x.shape, data };
}

function upsample(x: Tensor64, scale: number): Float64Array {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = new Float64Array(n * c * h * scale * w * scale);
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    for (let y = 0; y < h * scale; y++) {
      const row = plane * h * w + Math.floor(y / scale) * w;
      for (let xx = 0; xx < w * scale; xx++) out[o++] = x.data[row + Math.floor(xx / scale)]!;
    }
  }
  return out;
}

/** Direct convolution; the input is read nearest-upsampled by `inputScale`. */
function conv2d(
  x: Tensor64,
  weight: Tensor64,
  bias: Tensor64 | undefined,
  shape: number[],
  stride: number,
  pad: number,
  inputScale: number,
): Tensor64 {
  const [n, cin, h, w] = x.shape as [number, number, number, number];
  const [cout, , k] = weight.shape as [number, number, number];
  const [, , ho, wo] = shape as [number, number, number, number];
  const virtualH = h * inputScale;
  const virtualW = w * inputScale;
  const out = new Float64Array(n * cout * ho * wo);
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      const base = (b * cout + co) * ho * wo;
      const biasValue = bias ? bias.data[co]! : 0;
      for (let i = 0; i < ho * wo; i++) out[base + i] = biasValue;
      for (let ci = 0; ci < cin; ci++) {
        const plane = (b * cin + ci) * h * w;
        for (let ky = 0; ky < k; ky++) {
          for (let kx = 0; kx < k; kx++) {
            const wv = weight.data[((co * cin + ci) * k + ky) * k + kx]!;
            if (wv === 0) continue;
            for (let oy = 0; oy < ho; oy++) {
              const vy = oy * stride - pad + ky;
              if (vy < 0 || vy >= virtualH) continue;
              const row = plane + Math.floor(vy / inputScale) * w;
              const outRow = base + oy * wo;
              for (let ox = 0; ox < wo; ox++) {
                const vx = ox * stride - pad + kx;
                if (vx < 0 || vx >= virtualW) continue;
                out[outRow + ox]! += wv * x.data[row + Math.floor(vx / inputScale)]!;
              }
            }
          }
        }
      }
    }
  }
  return { shape, data: out };
}

/** The fused sum: terms in order with the conv's own value at selfIndex, then ReLU if asked. */
function epilogue(
  own: Tensor64,
  terms: readonly Tensor64[],
  scales: readonly number[],
  selfIndex: number,
  relu: boolean,
): Float64Array {
  const [n, c, h, w] = own.shape as [number, number, number, number];
  const out = new Float64Array(own.data.length);
  const read = (index: number, plane: number, y: number, x: number): number => {
    if (index === selfIndex) return own.data[(plane * h + y) * w + x]!;
    const termIndex = index < selfIndex ? index : index - 1;
    const term = terms[termIndex]!;
    const scale = scales[termIndex]!;
    return term.data[(plane * (h / scale) + Math.floor(y / scale)) * (w / scale) + Math.floor(x / scale)]!;
  };
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let sum = read(0, plane, y, x);
        for (let index = 1; index <= terms.length; index++) sum += read(index, plane, y, x);
        out[o++] = relu && sum < 0 ? 0 : sum;
      }
    }
  }
  return out;
}
