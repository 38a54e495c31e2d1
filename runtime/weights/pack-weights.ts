import { UserError } from '../../common/user-error.ts';
import type { ParameterInfo, WeightEntry, WeightLayout, WeightWindows } from '../program.ts';
import {
  type NamedTensor,
  requireFinite,
  SafetensorsError,
  type TensorMap,
  tensorSource,
} from './safetensors.ts';

export class WeightMismatchError extends UserError {
  constructor(
    readonly missing: readonly string[],
    readonly wrongShape: readonly string[],
    readonly unexpected: readonly string[],
    /** The weight file, when known: the message then starts with it. */
    readonly file?: string,
  ) {
    const parts = [
      missing.length ? `missing ${missing.length}: ${preview(missing)}` : '',
      wrongShape.length ? `wrong shape ${wrongShape.length}: ${preview(wrongShape)}` : '',
      unexpected.length ? `unexpected ${unexpected.length}: ${preview(unexpected)}` : '',
    ].filter(Boolean);
    super(
      `${file ? `${file}: ` : ''}weights do not match the model (${parts.join('; ')})${hint(missing, wrongShape, unexpected)}`,
    );
  }
}

function preview(names: readonly string[]): string {
  return names.length > 6 ? `${names.slice(0, 6).join(', ')}, …` : names.join(', ');
}

/** A likely cause, for two common mistakes. */
function hint(
  missing: readonly string[],
  wrongShape: readonly string[],
  unexpected: readonly string[],
): string {
  const wanted = new Set(missing);
  if (
    missing.length &&
    unexpected.length &&
    unexpected.every((k) => k.startsWith('module.') && wanted.has(k.slice(7)))
  )
    return "; every name starts with 'module.' (a DataParallel state_dict): remove that prefix";
  if (wrongShape.length && !missing.length && !unexpected.length)
    return '; weights of another experiment (another width or number of joints)?';
  return '';
}

/** PyTorch state_dict entries that the IR deliberately does not model. */
export const ignoredKeySuffixes = ['.num_batches_tracked'];

/**
 * Checks a weight file against the parameters the program needs, by official name: every missing,
 * wrong-shaped and unexpected key is reported (unexpected ones only when `strict`). Then the values:
 * a parameter holding NaN or ±infinity, or a negative running variance, is refused by name (either
 * would make outputs NaN). `file` (by default the path readSafetensors read `tensors` from) starts
 * every message.
 */
export function checkWeights(
  parameters: readonly ParameterInfo[],
  tensors: TensorMap,
  strict = true,
  file: string | undefined = tensorSource(tensors),
): void {
  const expected = new Map(parameters.map((p) => [p.name, p.shape]));
  const missing = parameters.filter((p) => !tensors.has(p.name)).map((p) => p.name);
  const wrongShape = parameters
    .filter((p) => tensors.has(p.name) && !sameShape(tensors.get(p.name)!.shape, p.shape))
    .map((p) => `${p.name} (file ${tensors.get(p.name)!.shape.join('x')}, model ${p.shape.join('x')})`);
  const unexpected = strict
    ? [...tensors.keys()].filter((k) => !expected.has(k) && !ignoredKeySuffixes.some((s) => k.endsWith(s)))
    : [];
  if (missing.length || wrongShape.length || unexpected.length)
    throw new WeightMismatchError(missing, wrongShape, unexpected, file);
  const what = file ?? 'weights';
  for (const p of parameters) {
    const tensor = tensors.get(p.name)!;
    requireFinite(what, p.name, tensor);
    if (p.role === 'running_var') {
      const index = tensor.data.findIndex((v) => v < 0);
      if (index >= 0) {
        throw new SafetensorsError(
          `${what}: tensor '${p.name}' holds a negative variance (${tensor.data[index]} at [${index}])`,
        );
      }
    }
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Computes every packed weight from the official parameters in float64 (BN folding happens here,
 * once), lays it out as the kernels read it and returns the contents of the weight buffer.
 */
export function packWeights(
  entries: readonly WeightEntry[],
  totalBytes: number,
  tensors: TensorMap,
): Float32Array {
  const buffer = new Float32Array(totalBytes / 4);
  const get = (name: string): NamedTensor => {
    const tensor = tensors.get(name);
    if (!tensor) throw new WeightMismatchError([name], [], []);
    return tensor;
  };
  for (const entry of entries) {
    // An entry no chosen kernel binds (see chooseKernels).
    if (entry.bytes === 0) continue;
    const values = computeSource(entry, get);
    layOut(
      values,
      entry.shape,
      entry.layout,
      buffer.subarray(entry.offset / 4, (entry.offset + entry.bytes) / 4),
      entry.windows,
    );
  }
  return buffer;
}

function computeSource(entry: WeightEntry, get: (name: string) => NamedTensor): Float64Array {
  const source = entry.source;
  switch (source.kind) {
    case 'parameter':
      return Float64Array.from(get(source.name).data);
    case 'fold_bn_weight': {
      const weight = get(source.weight).data;
      const gamma = get(source.gamma).data;
      const variance = get(source.variance).data;
      const perOut = weight.length / gamma.length;
      const out = new Float64Array(weight.length);
      for (let i = 0; i < weight.length; i++) {
        const c = Math.floor(i / perOut);
        out[i] = weight[i]! * (gamma[c]! / Math.sqrt(variance[c]! + source.eps));
      }
      return out;
    }
    case 'fold_bn_bias': {
      const gamma = get(source.gamma).data;
      const beta = get(source.beta).data;
      const mean = get(source.mean).data;
      const variance = get(source.variance).data;
      const bias = source.bias ? get(source.bias).data : undefined;
      return Float64Array.from(
        beta,
        (b, c) => b + ((bias?.[c] ?? 0) - mean[c]!) * (gamma[c]! / Math.sqrt(variance[c]! + source.eps)),
      );
    }
  }
}

/**
 * Writes values (official layout) into `target` in the kernel's layout, split into `windows` with
 * their headers when given; padding stays zero.
 */
export function layOut(
  values: ArrayLike<number>,
  shape: readonly number[],
  layout: WeightLayout,
  target: Float32Array,
  windows?: WeightWindows,
): void {
  const out = shape[0]!;
  const perOut = values.length / out;
  switch (layout) {
    case 'conv-gemm': {
      const padded = Math.ceil(out / 4) * 4;
      for (let o = 0; o < out; o++) {
        for (let k = 0; k < perOut; k++) target[k * padded + o] = values[o * perOut + k]!;
      }
      return;
    }
    case 'conv-direct-k8':
    case 'conv-direct-k16': {
      const block = directBlock(layout);
      // Where channel block b starts: after the windows before its own and its window's header.
      const blockStart = (b: number) => {
        if (!windows) return b * perOut * block;
        const window = Math.floor(b / windows.blocks);
        return (window * windows.bytes) / 4 + 4 + (b % windows.blocks) * perOut * block;
      };
      if (windows) {
        for (let w = 0; w < windows.count; w++) target[(w * windows.bytes) / 4] = w * windows.blocks;
      }
      // perOut = I·k·k: within a block, [input channel][tap] then the block's channels.
      for (let o = 0; o < out; o++) {
        const base = blockStart(Math.floor(o / block)) + (o % block);
        for (let k = 0; k < perOut; k++) target[base + k * block] = values[o * perOut + k]!;
      }
      return;
    }
    case 'vector':
    case 'plain':
      for (let i = 0; i < values.length; i++) target[i] = values[i]!;
  }
}

/** Output channels per block of a direct-conv layout. */
export function directBlock(layout: 'conv-direct-k8' | 'conv-direct-k16'): number {
  return layout === 'conv-direct-k8' ? 8 : 16;
}
