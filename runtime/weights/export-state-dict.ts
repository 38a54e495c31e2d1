import type { ParameterInfo } from '../program.ts';
import { checkWeights } from './pack-weights.ts';
import type { PthTensor } from './pth-writer.ts';
import type { WeightFile } from './read-weights.ts';

/** The official state_dict of a compiled model, ready for torch.save's format. */
export interface ExportedStateDict {
  /** In the official module order, with `<bn>.num_batches_tracked` after each `<bn>.running_var`. */
  readonly tensors: readonly (readonly [string, PthTensor])[];
  /** Where the num_batches_tracked values came from, for the user. */
  readonly batchesTracked: string;
  /** Tensors of the file that are not model weights and were left out (an hrnet checkpoint's optimizer moments). */
  readonly leftOut: readonly string[];
}

const optimizerPrefix = 'optimizer.';

/**
 * The model's parameters and buffers from a weight file, checked by name and shape (strict, like
 * PyTorch's `load_state_dict(strict=True)`). BatchNorm's `num_batches_tracked`, which PyTorch's
 * strict loading requires, is taken from the file when it has one, else from an hrnet checkpoint's
 * step count (each training step is one BN forward in training mode), else 0.
 */
export function exportStateDict(
  parameters: readonly ParameterInfo[],
  file: WeightFile,
  path: string,
): ExportedStateDict {
  const steps = Number(file.metadata.steps);
  const isCheckpoint = Number.isInteger(steps) && steps >= 0;
  const leftOut = isCheckpoint ? [...file.tensors.keys()].filter((k) => k.startsWith(optimizerPrefix)) : [];
  const weights = new Map([...file.tensors].filter(([name]) => !leftOut.includes(name)));
  checkWeights(parameters, weights, true, path);

  let fromFile = 0;
  const tensors: [string, PthTensor][] = [];
  for (const p of parameters) {
    const tensor = weights.get(p.name)!;
    tensors.push([p.name, { dtype: 'float32', shape: p.shape, data: tensor.data }]);
    if (p.role !== 'running_var') continue;
    const name = `${p.name.slice(0, -'running_var'.length)}num_batches_tracked`;
    const stored = weights.get(name);
    if (stored?.data.length === 1) fromFile++;
    const count = stored?.data.length === 1 ? stored.data[0]! : isCheckpoint ? steps : 0;
    tensors.push([name, { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(Math.round(count))) }]);
  }
  const layers = tensors.length - parameters.length;
  const batchesTracked =
    fromFile === layers
      ? 'num_batches_tracked from the file'
      : isCheckpoint
        ? `num_batches_tracked = ${steps} (the checkpoint's training steps)`
        : `num_batches_tracked = 0 (${fromFile ? 'partly ' : ''}not in the file)`;
  return { tensors, batchesTracked, leftOut };
}
