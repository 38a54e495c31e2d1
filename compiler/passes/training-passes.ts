import { fuseReluMask } from './fuse-relu-mask.ts';
import type { Pass } from './pass.ts';

/** The passes run on the training step's graph (passes/training-graph.ts) before kernel planning. */
export const trainingPasses: readonly Pass[] = [fuseReluMask];
