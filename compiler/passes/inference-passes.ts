import { eliminateIdentities } from './eliminate-identities.ts';
import { foldBatchNorm } from './fold-batch-norm.ts';
import { fuseConvEpilogue } from './fuse-conv-epilogue.ts';
import type { Pass } from './pass.ts';

/** The passes that turn the official layer graph into the inference kernel graph, in order. */
export const inferencePasses: readonly Pass[] = [
  foldBatchNorm,
  eliminateIdentities,
  fuseConvEpilogue,
  eliminateIdentities,
];
