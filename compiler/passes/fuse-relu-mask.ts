import { rewriteGraph } from '../ir/rewrite.ts';
import type { Pass } from './pass.ts';

/** The ops that can apply a ReLU mask to their gradient input (input 0) themselves. */
const maskable = new Set(['channel_sum', 'bn_grad_gamma', 'bn_grad_input']);

/**
 * Fuses a ReLU's backward into the batch-norm backward that reads it: when every reader of
 * relu_grad(dz, z) is a BN-backward op reading it as its gradient, those ops read dz and z instead
 * (z as a last input) and mask on the fly, so the masked gradient is never written. A relu_grad that
 * something else reads (the residual path of an add) stays.
 */
export const fuseReluMask: Pass = {
  name: 'fuse-relu-mask',
  description: 'apply ReLU gradient masks inside the BN backward ops that read them',
  run: (graph) =>
    rewriteGraph(graph, (node, { original, consumers, mapped, emit }) => {
      if (!maskable.has(node.op)) return undefined;
      const gradient = original.nodes[node.inputs[0]!]!;
      if (gradient.op !== 'relu_grad') return undefined;
      const readers = consumers[gradient.id]!.map((id) => original.nodes[id]!);
      const allMaskable = readers.every(
        (r) => maskable.has(r.op) && r.inputs[0] === gradient.id && !r.inputs.slice(1).includes(gradient.id),
      );
      if (!allMaskable) return undefined;
      const [dz, z] = gradient.inputs as [number, number];
      return emit({ ...node, inputs: [dz, ...node.inputs.slice(1), z].map(mapped) });
    }),
};
