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
export type OpGroup = 'source' | 'sink' | 'convolution' | 'normalization' | 'elementwise' | 'resample';

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
} as const satisfies Record<string, OpDefinition>;

export type Op = keyof typeof opDefinitions;

export const opNames = Object.keys(opDefinitions) as Op[];

export function isOp(name: string): name is Op {
  return Object.hasOwn(opDefinitions, name);
}

export function opGroup(op: Op): OpGroup {
  return opDefinitions[op].group;
}
