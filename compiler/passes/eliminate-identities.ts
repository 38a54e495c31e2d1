import { rewriteGraph } from '../ir/rewrite.ts';
import type { Pass } from './pass.ts';

/** Removes ops that compute nothing: upsampling by 1 and a ReLU of a ReLU (or of a fused ReLU). */
export const eliminateIdentities: Pass = {
  name: 'eliminate-identities',
  description: 'remove upsample_nearest by 1 and ReLUs of values that are already non-negative',
  run: (graph) =>
    rewriteGraph(graph, (node, { original, mapped }) => {
      if (node.op === 'upsample_nearest' && node.attrs.scale === 1) return mapped(node.inputs[0]!);
      if (node.op === 'relu') {
        const input = original.nodes[node.inputs[0]!]!;
        if (input.op === 'relu' || (input.op === 'fused_conv2d' && input.attrs.relu === true))
          return mapped(input.id);
      }
      return undefined;
    }),
};
