import type { Graph, Node } from './graph.ts';
import { concreteShape } from './tensor-type.ts';

/** A dense float64 tensor; shapes are concrete (the batch is known). */
export interface Tensor64 {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export interface InterpretInputs {
  readonly batch: number;
  /** The graph input (one `input` node), NCHW. */
  readonly input: Float64Array | Float32Array;
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
    case 'input':
      return checked(shape, Float64Array.from(inputs.input), 'input');
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
