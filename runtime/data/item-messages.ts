import type { Augmentation } from './augmentation.ts';
import type { ItemSettings, PreparedItem } from './joints-dataset.ts';
import type { Sample } from './sample.ts';

export interface ItemRequest {
  readonly id: number;
  readonly sample: Sample;
  readonly augmentation: Augmentation;
  readonly settings: ItemSettings;
}

export type ItemResponse =
  | { readonly id: number; readonly item: PreparedItem }
  | { readonly id: number; readonly error: string };
