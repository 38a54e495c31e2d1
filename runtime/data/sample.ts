import type { Point } from '../pose/affine.ts';

/** One person to crop, as the official JointsDataset's db records hold it (0-based pixels). */
export interface Sample {
  /** Image file path. */
  readonly image: string;
  readonly center: Point;
  /** Box size in units of 200 pixels, [width, height]. */
  readonly scale: Point;
  /** Joint positions in the image (zeros where unknown). */
  readonly joints: readonly Point[];
  /** Per joint: 1 labelled (and usable for training), 0 not. */
  readonly visibility: readonly number[];
  /** 1 for ground-truth boxes; the detector's score for detected boxes. */
  readonly score: number;
  /** COCO image id, for results files. */
  readonly imageId?: number;
}
