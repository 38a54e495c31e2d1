import type { ExperimentConfig } from '../config/experiment-config.ts';
import type { Graph } from '../ir/graph.ts';
import { lowerPoseHrnet } from './pose-hrnet.ts';

/** One lowering per MODEL.NAME; a model the front end accepts but cannot lower yet says so. */
export const modelLowerings: Readonly<Record<string, ((config: ExperimentConfig) => Graph) | undefined>> = {
  pose_hrnet: lowerPoseHrnet,
  pose_resnet: undefined,
};

export type LoweringResult = { ok: true; graph: Graph } | { ok: false; message: string };

export function lowerModel(config: ExperimentConfig): LoweringResult {
  const lower = modelLowerings[config.MODEL.NAME];
  if (!lower) {
    return {
      ok: false,
      message: `MODEL.NAME ${config.MODEL.NAME} validates but has no lowering to the IR yet; supported: pose_hrnet`,
    };
  }
  return { ok: true, graph: lower(config) };
}
