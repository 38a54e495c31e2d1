import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../common/user-error.ts';
import { cocoJoints, type JointSet, mpiiJoints } from '../pose/joints.ts';
import { cocoAnnotationFile, loadCocoDetections, loadCocoSamples } from './coco.ts';
import { loadMpiiSamples } from './mpii.ts';
import type { Sample } from './sample.ts';

export type DatasetFormat = 'mpii' | 'coco';

/** Which format a data folder holds, from its layout: annot/ for MPII, annotations/ for COCO. */
export function detectFormat(root: string): DatasetFormat {
  if (existsSync(join(root, 'annot'))) return 'mpii';
  if (existsSync(join(root, 'annotations'))) return 'coco';
  throw new UserError(
    `${root} holds neither annot/ (MPII) nor annotations/ (COCO); generate data with: npx hrnet synth --format mpii -n 200 -o ${root}`,
  );
}

export interface DatasetRequest {
  readonly format: DatasetFormat;
  readonly root: string;
  readonly imageSet: string;
  /** width / height of the network input. */
  readonly aspectRatio: number;
  /** COCO testing on detected boxes instead of ground truth (TEST.USE_GT_BBOX false). */
  readonly detections?: { readonly file: string; readonly imageThreshold: number };
}

export interface LoadedDataset {
  readonly samples: readonly Sample[];
  readonly joints: JointSet;
}

/** The annotation file a split's samples come from. */
export function annotationFile(format: DatasetFormat, root: string, imageSet: string): string {
  return format === 'mpii' ? join(root, 'annot', `${imageSet}.json`) : cocoAnnotationFile(root, imageSet);
}

/**
 * Every image the samples name must exist: one missing is reported here, naming the image and the
 * annotation file, before any worker or GPU starts (each distinct image is checked once).
 */
function checkImagesExist(samples: readonly Sample[], format: DatasetFormat, file: string): void {
  const checked = new Set<string>();
  samples.forEach((sample, i) => {
    if (checked.has(sample.image)) return;
    checked.add(sample.image);
    if (existsSync(sample.image)) return;
    const entry = format === 'mpii' ? `[${i}].image` : `image id ${sample.imageId}`;
    throw new UserError(`${file}: ${entry}: the image ${sample.image} does not exist`);
  });
}

/**
 * The official dataset classes' db: the samples of one split. A split with no usable sample, or a
 * sample whose image file does not exist, is a UserError naming the annotation file.
 */
export function loadDataset(request: DatasetRequest): LoadedDataset {
  const { format, root, imageSet, aspectRatio } = request;
  const file = annotationFile(format, root, imageSet);
  if (!existsSync(file)) {
    throw new UserError(
      format === 'mpii'
        ? `${file} does not exist (the MPII split '${imageSet}')`
        : `${file} does not exist (the COCO split '${imageSet}')`,
    );
  }
  const samples =
    format === 'mpii'
      ? loadMpiiSamples(root, imageSet)
      : request.detections
        ? loadCocoDetections(
            request.detections.file,
            root,
            imageSet,
            aspectRatio,
            request.detections.imageThreshold,
          )
        : loadCocoSamples(root, imageSet, aspectRatio);
  if (samples.length === 0)
    throw new UserError(
      `${file}: no usable person (COCO keeps non-crowd person annotations with keypoints and a positive area)`,
    );
  checkImagesExist(samples, format, file);
  return { samples, joints: format === 'mpii' ? mpiiJoints : cocoJoints };
}
