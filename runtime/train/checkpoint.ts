import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import { UserError } from '../../common/user-error.ts';
import { type NamedTensor, parseSafetensors, serializeSafetensors } from '../weights/safetensors.ts';

/** What a checkpoint holds besides tensors (safetensors metadata, strings). */
export interface CheckpointInfo {
  /** Epochs completed: training resumes at this epoch. */
  readonly epoch: number;
  /** The validation metric of the last epoch, and the best so far. */
  readonly perf: number;
  readonly bestPerf: number;
  /** Optimizer steps taken (Adam's bias correction). */
  readonly steps: number;
  readonly optimizer: 'adam' | 'sgd';
  readonly model: string;
}

export const checkpointFiles = {
  checkpoint: 'checkpoint.safetensors',
  best: 'model_best.safetensors',
  final: 'final_state.safetensors',
} as const;

/**
 * Writes checkpoint.safetensors atomically: the state_dict tensors by official names, the optimizer's
 * moments as `optimizer.<slot>.<name>`, and epoch, metric and step count as metadata. A crash while
 * writing leaves the previous checkpoint intact.
 */
export function writeCheckpoint(
  dir: string,
  info: CheckpointInfo,
  state: ReadonlyMap<string, NamedTensor>,
  optimizer: ReadonlyMap<string, NamedTensor>,
): void {
  const metadata = {
    format: 'pt',
    epoch: String(info.epoch),
    perf: String(info.perf),
    best_perf: String(info.bestPerf),
    steps: String(info.steps),
    optimizer: info.optimizer,
    model: info.model,
  };
  writeFileAtomic(
    join(dir, checkpointFiles.checkpoint),
    serializeSafetensors([...state, ...optimizer], metadata),
  );
}

export function writeWeights(
  path: string,
  state: ReadonlyMap<string, NamedTensor>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, serializeSafetensors(state, { format: 'pt', ...metadata }));
}

export function readCheckpoint(
  dir: string,
): { info: CheckpointInfo; tensors: Map<string, NamedTensor> } | undefined {
  const path = join(dir, checkpointFiles.checkpoint);
  if (!existsSync(path)) return undefined;
  const bytes = readFileSync(path);
  const tensors = parseSafetensors(bytes, path);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as {
    __metadata__?: Record<string, string>;
  };
  const m = header.__metadata__ ?? {};
  const number = (key: string) => {
    const value = Number(m[key]);
    if (!Number.isFinite(value))
      throw new UserError(`${path} lacks '${key}' in its metadata; it is not an hrnet checkpoint`);
    return value;
  };
  return {
    info: {
      epoch: number('epoch'),
      perf: number('perf'),
      bestPerf: number('best_perf'),
      steps: number('steps'),
      optimizer: m.optimizer === 'sgd' ? 'sgd' : 'adam',
      model: m.model ?? '',
    },
    tensors,
  };
}
