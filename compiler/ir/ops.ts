import { type Dim, sameType, type TensorType, tensorType } from './tensor-type.ts';

export type AttrValue = number | boolean | string | readonly number[];
export type Attrs = Readonly<Record<string, AttrValue>>;

export type AttrKind = 'int' | 'float' | 'bool' | 'string' | 'ints';

/** What a parameter is, in the official state_dict's terms; running statistics are buffers. */
export const parameterRoles = ['weight', 'bias', 'running_mean', 'running_var'] as const;
export type ParameterRole = (typeof parameterRoles)[number];

export interface OpDefinition {
  readonly group: OpGroup;
  /** Number of inputs, or [min, max]. */
  readonly arity: number | readonly [number, number];
  readonly attrs: Readonly<Record<string, AttrKind>>;
  /** The output type from the input types and attributes, or a message saying what is wrong. */
  readonly infer: (inputs: readonly TensorType[], attrs: Attrs) => TensorType | string;
}

/** Groups let passes match on what an op is rather than on long lists of names. */
export type OpGroup =
  | 'source'
  | 'sink'
  | 'convolution'
  | 'normalization'
  | 'elementwise'
  | 'resample'
  | 'weight_transform'
  | 'loss'
  | 'gradient';

const same = (inputs: readonly TensorType[]) => inputs[0]!;

function conv2dType(inputs: readonly TensorType[], attrs: Attrs): TensorType | string {
  const [x, weight, bias] = inputs as [TensorType, TensorType, TensorType?];
  const kernel = attrs.kernel as number;
  const stride = attrs.stride as number;
  const pad = attrs.pad as number;
  if (x.shape.length !== 4) return `conv2d input must be NCHW, got rank ${x.shape.length}`;
  if (weight.shape.length !== 4) return 'conv2d weight must be [out, in, k, k]';
  const [out, inChannels, kh, kw] = weight.shape as number[];
  if (inChannels !== x.shape[1])
    return `conv2d weight expects ${inChannels} input channels, input has ${x.shape[1]}`;
  if (kh !== kernel || kw !== kernel) return `conv2d weight is ${kh}x${kw} but kernel=${kernel}`;
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== out)) return `conv2d bias must be [${out}]`;
  const size = (d: Dim) => (d === 'N' ? d : Math.floor((d + 2 * pad - kernel) / stride) + 1);
  const h = size(x.shape[2]!);
  const w = size(x.shape[3]!);
  if (typeof h === 'number' && h < 1) return 'conv2d output height is empty';
  if (typeof w === 'number' && w < 1) return 'conv2d output width is empty';
  return tensorType([x.shape[0]!, out!, h, w]);
}

function batchNormType(inputs: readonly TensorType[]): TensorType | string {
  const [x, ...stats] = inputs as [TensorType, ...TensorType[]];
  const channels = x.shape[1];
  for (const s of stats) {
    if (s.shape.length !== 1 || s.shape[0] !== channels) return `batch_norm parameters must be [${channels}]`;
  }
  return x;
}

function addType(inputs: readonly TensorType[]): TensorType | string {
  const [a, b] = inputs as [TensorType, TensorType];
  return sameType(a, b) ? a : `add needs equal shapes, got ${a.shape.join('x')} and ${b.shape.join('x')}`;
}

function upsampleType(inputs: readonly TensorType[], attrs: Attrs): TensorType | string {
  const x = inputs[0]!;
  const scale = attrs.scale as number;
  return tensorType(x.shape.map((d, i) => (i >= 2 && d !== 'N' ? d * scale : d)));
}

function foldedWeightType(inputs: readonly TensorType[]): TensorType | string {
  const [weight, gamma, variance] = inputs as [TensorType, TensorType, TensorType];
  const out = weight.shape[0];
  if (gamma.shape[0] !== out || variance.shape[0] !== out)
    return `fold_bn_weight needs BN parameters of size ${out}`;
  return weight;
}

function foldedBiasType(inputs: readonly TensorType[]): TensorType | string {
  const channels = inputs[0]!.shape[0];
  return inputs.every((t) => t.shape.length === 1 && t.shape[0] === channels)
    ? inputs[0]!
    : 'fold_bn_bias inputs must be vectors of one size';
}

/**
 * conv2d with its epilogue: + bias, then a sum with other tensors in a fixed order (the conv's own
 * result at `self_index`, each other term read at 1/`term_scales[i]` resolution, i.e. nearest
 * upsampled on the fly), then optionally ReLU. The input may be read nearest-upsampled by
 * `input_scale`, which lets an upsample before a 1x1 conv be folded in.
 */
function fusedConvType(inputs: readonly TensorType[], attrs: Attrs): TensorType | string {
  const [x, weight, bias, ...terms] = inputs as [TensorType, TensorType, TensorType, ...TensorType[]];
  const inputScale = attrs.input_scale as number;
  const virtualInput = tensorType(x.shape.map((d, i) => (i >= 2 && d !== 'N' ? d * inputScale : d)));
  const conv = conv2dType([virtualInput, weight, bias], attrs);
  if (typeof conv === 'string') return conv.replace('conv2d', 'fused_conv2d');
  const scales = attrs.term_scales as readonly number[];
  if (scales.length !== terms.length)
    return `fused_conv2d has ${terms.length} terms but ${scales.length} term_scales`;
  const selfIndex = attrs.self_index as number;
  if (!(selfIndex >= 0 && selfIndex <= terms.length)) return 'fused_conv2d self_index is outside the sum';
  for (const [i, term] of terms.entries()) {
    const scale = scales[i]!;
    const expected = conv.shape.map((d, axis) => (axis >= 2 && d !== 'N' ? d / scale : d));
    if (!sameType(term, tensorType(expected)))
      return `fused_conv2d term ${i} must be ${expected.join('x')} (1/${scale} resolution)`;
  }
  return conv;
}

const vectorOf = (channels: number) => tensorType([channels]);

function channelsOf(t: TensorType): number {
  return t.shape[1] as number;
}

/** [2, C]: a channel statistic pair (mean and biased variance, or their running values). */
function statsType(inputs: readonly TensorType[]): TensorType | string {
  const x = inputs[0]!;
  return x.shape.length === 4 ? tensorType([2, channelsOf(x)]) : 'bn_stats takes NCHW';
}

function runningType(inputs: readonly TensorType[]): TensorType | string {
  const [mean, variance, stats] = inputs as [TensorType, TensorType, TensorType];
  const c = mean.shape[0] as number;
  return variance.shape[0] === c && stats.shape[1] === c
    ? tensorType([2, c])
    : 'bn_running needs running stats and batch stats of one size';
}

function lossType(inputs: readonly TensorType[]): TensorType | string {
  const [output, target, weight] = inputs as [TensorType, TensorType, TensorType];
  if (!sameType(output, target)) return 'mse_loss needs output and target of one shape';
  if (weight.shape.length !== 3 || weight.shape[1] !== output.shape[1] || weight.shape[2] !== 1)
    return 'mse_loss target_weight must be [N, J, 1]';
  return tensorType([1]);
}

function gradInputType(inputs: readonly TensorType[], attrs: Attrs): TensorType | string {
  const [dy, weight] = inputs as [TensorType, TensorType];
  return tensorType([
    dy.shape[0]!,
    weight.shape[1]!,
    attrs.input_height as number,
    attrs.input_width as number,
  ]);
}

function gradWeightType(inputs: readonly TensorType[], attrs: Attrs): TensorType | string {
  const [x, dy] = inputs as [TensorType, TensorType];
  const k = attrs.kernel as number;
  return tensorType([channelsOf(dy), channelsOf(x), k, k]);
}

function upsampleGradType(inputs: readonly TensorType[], attrs: Attrs): TensorType | string {
  const dy = inputs[0]!;
  const s = attrs.scale as number;
  const [n, c, h, w] = dy.shape as [Dim, number, number, number];
  return h % s === 0 && w % s === 0
    ? tensorType([n, c, h / s, w / s])
    : 'upsample_nearest_grad needs sizes divisible by the scale';
}

/**
 * The op table: the living definition of what each op takes and produces. The CPU interpreter
 * (runtime side) defines what each op computes.
 */
export const opDefinitions = {
  input: { group: 'source', arity: 0, attrs: {}, infer: () => 'input types are given, not inferred' },
  parameter: {
    group: 'source',
    arity: 0,
    attrs: { role: 'string' },
    infer: () => 'parameter types are given',
  },
  conv2d: {
    group: 'convolution',
    arity: [2, 3],
    attrs: { kernel: 'int', stride: 'int', pad: 'int' },
    infer: conv2dType,
  },
  batch_norm: {
    group: 'normalization',
    arity: 5,
    attrs: { eps: 'float', momentum: 'float' },
    infer: batchNormType,
  },
  relu: { group: 'elementwise', arity: 1, attrs: {}, infer: same },
  add: { group: 'elementwise', arity: 2, attrs: {}, infer: addType },
  upsample_nearest: { group: 'resample', arity: 1, attrs: { scale: 'int' }, infer: upsampleType },
  output: { group: 'sink', arity: 1, attrs: {}, infer: same },
  fold_bn_weight: { group: 'weight_transform', arity: 3, attrs: { eps: 'float' }, infer: foldedWeightType },
  fold_bn_bias: { group: 'weight_transform', arity: [4, 5], attrs: { eps: 'float' }, infer: foldedBiasType },
  // Training: batch statistics, the loss, and one gradient op per rule of passes/autodiff.ts.
  bn_stats: { group: 'normalization', arity: 1, attrs: {}, infer: statsType },
  bn_train: { group: 'normalization', arity: 4, attrs: { eps: 'float' }, infer: same },
  bn_running: {
    group: 'normalization',
    arity: 3,
    attrs: { momentum: 'float', plane: 'int' },
    infer: runningType,
  },
  mse_loss: { group: 'loss', arity: 3, attrs: { use_target_weight: 'bool' }, infer: lossType },
  mse_loss_grad: { group: 'gradient', arity: 3, attrs: { use_target_weight: 'bool' }, infer: same },
  relu_grad: { group: 'gradient', arity: 2, attrs: {}, infer: same },
  conv2d_grad_input: {
    group: 'gradient',
    arity: 2,
    attrs: { kernel: 'int', stride: 'int', pad: 'int', input_height: 'int', input_width: 'int' },
    infer: gradInputType,
  },
  conv2d_grad_weight: {
    group: 'gradient',
    arity: 2,
    attrs: { kernel: 'int', stride: 'int', pad: 'int' },
    infer: gradWeightType,
  },
  // channel_sum, bn_grad_gamma and bn_grad_input take an optional last input: the output of the ReLU
  // whose gradient dy is, applying its mask to dy on the fly (passes/fuse-relu-mask.ts).
  channel_sum: {
    group: 'gradient',
    arity: [1, 2],
    attrs: {},
    infer: (inputs) => vectorOf(channelsOf(inputs[0]!)),
  },
  bn_grad_gamma: {
    group: 'gradient',
    arity: [3, 4],
    attrs: { eps: 'float' },
    infer: (inputs) => vectorOf(channelsOf(inputs[0]!)),
  },
  bn_grad_input: { group: 'gradient', arity: [6, 7], attrs: { eps: 'float' }, infer: same },
  upsample_nearest_grad: { group: 'gradient', arity: 1, attrs: { scale: 'int' }, infer: upsampleGradType },
  fused_conv2d: {
    group: 'convolution',
    arity: [3, 8],
    attrs: {
      kernel: 'int',
      stride: 'int',
      pad: 'int',
      input_scale: 'int',
      relu: 'bool',
      self_index: 'int',
      term_scales: 'ints',
    },
    infer: fusedConvType,
  },
} as const satisfies Record<string, OpDefinition>;

export type Op = keyof typeof opDefinitions;

export const opNames = Object.keys(opDefinitions) as Op[];

export function isOp(name: string): name is Op {
  return Object.hasOwn(opDefinitions, name);
}

export function opGroup(op: Op): OpGroup {
  return opDefinitions[op].group;
}
