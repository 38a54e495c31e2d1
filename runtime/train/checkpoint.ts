import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
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

/** The epoch a checkpoint file says it holds (from its metadata, without reading the tensors). */
function checkpointEpoch(path: string): number | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = Buffer.alloc(8);
    if (readSync(fd, size, 0, 8, 0) !== 8) return undefined;
    const length = Number(size.readBigUInt64LE(0));
    if (length > 100_000_000) return undefined;
    const header = Buffer.alloc(length);
    if (readSync(fd, header, 0, length, 8) !== length) return undefined;
    const epoch = Number(
      (JSON.parse(header.toString('utf8')) as { __metadata__?: Record<string, string> }).__metadata__?.epoch,
    );
    return Number.isInteger(epoch) ? epoch : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * For a message that stops training: where the last checkpoint is, and after which epoch (`; the last
 * checkpoint is DIR/checkpoint.safetensors (epoch 2)`), or that none has been written yet.
 */
export function lastCheckpointNote(dir: string): string {
  const path = join(dir, checkpointFiles.checkpoint);
  if (!existsSync(path)) return '; no checkpoint has been written yet';
  const epoch = checkpointEpoch(path);
  return `; the last checkpoint is ${path}${epoch === undefined ? '' : ` (epoch ${epoch})`}`;
}
