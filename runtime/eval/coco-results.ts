import type { SamplePrediction } from '../validate.ts';
import type { CocoResult } from './coco-eval.ts';
import { oksNms, type PersonKeypoints, rescore, softOksNms } from './oks-nms.ts';

export interface CocoResultSettings {
  readonly inVisThreshold: number;
  readonly oksThreshold: number;
  readonly softNms: boolean;
}

/** A results-file entry as the official writer makes it (it also keeps center and scale). */
export type OfficialCocoResult = CocoResult & {
  readonly center: readonly number[];
  readonly scale: readonly number[];
};

/**
 * The official COCODataset.evaluate before COCOeval: per image, rescore each person by its box score
 * times the mean joint score above IN_VIS_THRE, keep what OKS NMS (or soft OKS NMS) keeps at
 * OKS_THRE, and write the standard results list.
 */
export function cocoResults(
  predictions: readonly SamplePrediction[],
  settings: CocoResultSettings,
): OfficialCocoResult[] {
  const byImage = new Map<number, { person: PersonKeypoints; prediction: SamplePrediction }[]>();
  for (const prediction of predictions) {
    const id = prediction.sample.imageId ?? -1;
    if (!byImage.has(id)) byImage.set(id, []);
    byImage.get(id)!.push({
      prediction,
      person: {
        keypoints: prediction.joints.map((j) => [j.x, j.y, j.score] as [number, number, number]),
        area: prediction.area,
        score: prediction.sample.score,
      },
    });
  }
  const results: OfficialCocoResult[] = [];
  for (const [imageId, people] of byImage) {
    for (const p of people) p.person.score = rescore(p.person, settings.inVisThreshold);
    const persons = people.map((p) => p.person);
    const keep = settings.softNms
      ? softOksNms(persons, settings.oksThreshold)
      : oksNms(persons, settings.oksThreshold);
    const kept = keep.length === 0 ? people : keep.map((i) => people[i]!);
    for (const { person, prediction } of kept) {
      results.push({
        image_id: imageId,
        category_id: 1,
        keypoints: person.keypoints.flatMap((k) => [k[0], k[1], k[2]]),
        score: person.score,
        center: [...prediction.sample.center],
        scale: [...prediction.sample.scale],
      });
    }
  }
  return results;
}
