import type { Prediction, PredictSettings } from './predict.ts';

/** One image's prediction as `hrnet predict` writes it to DIR/<image>.json (and the page shows it). */
export interface PredictionRecord {
  readonly image: string;
  readonly width: number;
  readonly height: number;
  readonly experiment: string;
  readonly dataset: PredictSettings['joints']['dataset'];
  readonly center: Prediction['center'];
  readonly scale: Prediction['scale'];
  readonly joints: readonly { name: string | undefined; x: number; y: number; score: number }[];
}

/** The record of one prediction: x, y and score per joint, in the official joint order and names. */
export function predictionRecord(
  image: { name: string; width: number; height: number },
  experiment: string,
  settings: PredictSettings,
  prediction: Prediction,
): PredictionRecord {
  return {
    image: image.name,
    width: image.width,
    height: image.height,
    experiment,
    dataset: settings.joints.dataset,
    center: prediction.center,
    scale: prediction.scale,
    joints: prediction.joints.map((j, k) => ({
      name: settings.joints.names[k],
      x: j.x,
      y: j.y,
      score: j.score,
    })),
  };
}

/** The file's text: one-space indentation and a final newline, byte for byte what predict writes. */
export function predictionJson(record: PredictionRecord): string {
  return `${JSON.stringify(record, null, 1)}\n`;
}
