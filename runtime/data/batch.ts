import { Prng } from '../../common/prng.ts';
import {
  type Augmentation,
  type AugmentationSettings,
  drawAugmentation,
  identityAugmentation,
} from './augmentation.ts';
import type { PreparedItem } from './joints-dataset.ts';
import type { Sample } from './sample.ts';

/*
 * The order, draws and assembly of batches, with no thread or file: BatchLoader prepares items in
 * workers from image files, the browser page from images it drew, and both get the same batches.
 */

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
 * Sample `index`'s augmentation in `epoch`: the official training draws from the item's own stream,
 * or, without `settings` (validation), the sample's own box.
 */
export function itemAugmentation(
  sample: Sample,
  index: number,
  epoch: number,
  seed: number,
  settings: AugmentationSettings | undefined,
): Augmentation {
  return settings
    ? drawAugmentation(sample, settings, new Prng(itemSeed(seed, epoch, index)))
    : identityAugmentation(sample);
}

/** Prepared items, in order, as one batch in the layout of the network and the loss. */
export function batchOf(items: readonly PreparedItem[], indices: readonly number[]): Batch {
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
