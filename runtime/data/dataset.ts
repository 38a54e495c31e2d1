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

/** The official dataset classes' db: the samples of one split. */
export function loadDataset(request: DatasetRequest): LoadedDataset {
  const { format, root, imageSet, aspectRatio } = request;
  if (format === 'mpii') return { samples: loadMpiiSamples(root, imageSet), joints: mpiiJoints };
  if (!existsSync(cocoAnnotationFile(root, imageSet))) {
    throw new UserError(
      `${cocoAnnotationFile(root, imageSet)} does not exist (the COCO split '${imageSet}')`,
    );
  }
  const samples = request.detections
    ? loadCocoDetections(
        request.detections.file,
        root,
        imageSet,
        aspectRatio,
        request.detections.imageThreshold,
      )
    : loadCocoSamples(root, imageSet, aspectRatio);
  return { samples, joints: cocoJoints };
}
