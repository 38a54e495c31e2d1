import { Worker } from 'node:worker_threads';
import { UserError } from '../../common/user-error.ts';
import { readImage } from '../image/image.ts';
import type { AugmentationSettings } from './augmentation.ts';
import { type Batch, batchOf, epochOrder, itemAugmentation } from './batch.ts';
import type { ItemRequest, ItemResponse } from './item-messages.ts';
import { type ItemSettings, type PreparedItem, prepareItem } from './joints-dataset.ts';
import type { Sample } from './sample.ts';

export { type Batch, epochOrder } from './batch.ts';

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
    const augmentation = itemAugmentation(
      sample,
      index,
      epoch,
      seed,
      augment ? augmentationSettings : undefined,
    );
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
    return batchOf(await Promise.all(indices.map((i) => this.prepare(i, epoch))), indices);
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
