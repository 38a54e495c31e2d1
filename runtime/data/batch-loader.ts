import { Worker } from 'node:worker_threads';
import { Prng } from '../../common/prng.ts';
import { UserError } from '../../common/user-error.ts';
import { readImage } from '../image/image.ts';
import { type AugmentationSettings, drawAugmentation, identityAugmentation } from './augmentation.ts';
import type { ItemRequest, ItemResponse } from './item-messages.ts';
import { type ItemSettings, type PreparedItem, prepareItem } from './joints-dataset.ts';
import type { Sample } from './sample.ts';

/** A batch in the layout of the network and the loss, with what each item was made from. */
export interface Batch {
  /** B × 3 × H × W. */
  readonly input: Float32Array;
  /** B × J × h × w. */
  readonly target: Float32Array;
  /** B × J. */
  readonly targetWeight: Float32Array;
  /** Indices into the sample list. */
  readonly indices: readonly number[];
  readonly items: readonly Omit<PreparedItem, 'input' | 'target' | 'targetWeight'>[];
}

export interface LoaderOptions {
  readonly samples: readonly Sample[];
  readonly batchSize: number;
  /** Reshuffle every epoch (the official TRAIN.SHUFFLE); the order comes from the seed and epoch. */
  readonly shuffle: boolean;
  /** Draw training augmentation; otherwise each sample's own box. */
  readonly augment: boolean;
  readonly seed: number;
  readonly itemSettings: ItemSettings;
  readonly augmentationSettings?: AugmentationSettings;
  /** Worker threads preparing items; 0 prepares them on the calling thread. */
  readonly workers: number;
  /** Batches prepared ahead of the one being used. */
  readonly prefetch?: number;
}

/** A stream of per-epoch, per-item random streams: reproducible whatever order the workers finish in. */
function itemSeed(seed: number, epoch: number, index: number): number {
  let h = Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) >>> 0;
  h = Math.imul(h ^ epoch, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ index, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The official sample order: a seeded Fisher–Yates shuffle per epoch, or the file order. */
export function epochOrder(count: number, shuffle: boolean, seed: number, epoch: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  if (!shuffle) return order;
  const prng = new Prng(itemSeed(seed, epoch, 0xffffffff));
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(prng.next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * Loads batches like the official DataLoader (no dropped last batch), preparing items in worker
 * threads a few batches ahead so the GPU does not wait on decoding and cropping.
 */
export class BatchLoader {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<
    number,
    { resolve: (item: PreparedItem) => void; reject: (e: Error) => void }
  >();
  private nextRequest = 0;
  private nextWorker = 0;
  private closing = false;
  /** Why a worker stopped, once one has: every item after that fails at once with it. */
  private stopped: Error | undefined;

  constructor(private readonly options: LoaderOptions) {
    if (options.samples.length === 0) throw new UserError('the dataset has no samples');
    for (let i = 0; i < options.workers; i++) {
      const worker = new Worker(new URL('./item-worker.js', import.meta.url));
      worker.on('message', (response: ItemResponse) => {
        const waiting = this.pending.get(response.id);
        this.pending.delete(response.id);
        if (!waiting) return;
        if ('error' in response) waiting.reject(new UserError(response.error));
        else waiting.resolve(response.item);
      });
      worker.on('error', (e) => this.fail(new UserError(`a data-loading worker failed: ${e.message}`)));
      // A worker killed from outside, out of memory, or crashed in native code exits without an
      // 'error' event; its items would wait forever.
      worker.on('exit', (code) => {
        if (!this.closing)
          this.fail(
            new UserError(
              `a data-loading worker stopped unexpectedly (exit code ${code}); the epoch cannot finish (out of memory? set WORKERS 0 to load on the main thread)`,
            ),
          );
      });
      this.workers.push(worker);
    }
  }

  private fail(error: Error): void {
    this.stopped ??= error;
    for (const waiting of this.pending.values()) waiting.reject(this.stopped);
    this.pending.clear();
  }

  batchesPerEpoch(): number {
    return Math.ceil(this.options.samples.length / this.options.batchSize);
  }

  private prepare(index: number, epoch: number): Promise<PreparedItem> {
    const { samples, augment, seed, itemSettings, augmentationSettings } = this.options;
    const sample = samples[index]!;
    const augmentation =
      augment && augmentationSettings
        ? drawAugmentation(sample, augmentationSettings, new Prng(itemSeed(seed, epoch, index)))
        : identityAugmentation(sample);
    if (this.workers.length === 0) {
      return Promise.resolve().then(() =>
        prepareItem(readImage(sample.image), sample, augmentation, itemSettings),
      );
    }
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextRequest++;
    const worker = this.workers[this.nextWorker++ % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: ItemRequest = { id, sample, augmentation, settings: itemSettings };
      worker.postMessage(request);
    });
  }

  private async assemble(indices: number[], epoch: number): Promise<Batch> {
    const items = await Promise.all(indices.map((i) => this.prepare(i, epoch)));
    const concat = (pick: (item: PreparedItem) => Float32Array) => {
      const size = pick(items[0]!).length;
      const out = new Float32Array(size * items.length);
      for (const [k, item] of items.entries()) out.set(pick(item), k * size);
      return out;
    };
    return {
      input: concat((i) => i.input),
      target: concat((i) => i.target),
      targetWeight: concat((i) => i.targetWeight),
      indices,
      items: items.map(({ input: _i, target: _t, targetWeight: _w, ...rest }) => rest),
    };
  }

  /** The batches of one epoch, in order, prepared `prefetch` batches ahead. */
  async *epoch(epoch: number, startBatch = 0): AsyncGenerator<Batch> {
    const order = epochOrder(this.options.samples.length, this.options.shuffle, this.options.seed, epoch);
    const size = this.options.batchSize;
    const total = this.batchesPerEpoch();
    const ahead = Math.max(1, this.options.prefetch ?? 2);
    const queue: Promise<Batch>[] = [];
    let next = startBatch;
    const fill = () => {
      while (queue.length < ahead && next < total) {
        const batch = this.assemble(order.slice(next * size, (next + 1) * size), epoch);
        // A batch that fails while an earlier one is awaited is reported when its turn comes.
        batch.catch(() => {});
        queue.push(batch);
        next++;
      }
    };
    fill();
    while (queue.length > 0) {
      const batch = await queue.shift()!;
      fill();
      yield batch;
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
