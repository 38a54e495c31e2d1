import { rewriteGraph } from '../ir/rewrite.ts';
import type { Pass } from './pass.ts';

/**
 * Inference only: a conv2d read only by a batch_norm becomes one conv2d with folded weight and bias,
 * W' = W·γ/√(var+ε) and b' = β + (b − mean)·γ/√(var+ε). The folding is expressed with weight-transform
 * ops, which the runtime evaluates once (in float64) when it loads the official weights.
 */
export const foldBatchNorm: Pass = {
  name: 'fold-batch-norm',
  description: 'fold inference batch_norm into the preceding conv2d',
  run: (graph) =>
    rewriteGraph(graph, (node, { original, consumers, mapped, emit }) => {
      if (node.op !== 'batch_norm') return undefined;
      const conv = original.nodes[node.inputs[0]!]!;
      if (conv.op !== 'conv2d' || consumers[conv.id]!.length !== 1) return undefined;
      const [x, weight, bias] = conv.inputs;
      const [, gamma, beta, mean, variance] = node.inputs.map(mapped) as [
        number,
        number,
        number,
        number,
        number,
      ];
      const eps = node.attrs.eps as number;
      const foldedWeight = emit({
        op: 'fold_bn_weight',
        inputs: [mapped(weight!), gamma, variance],
        type: original.nodes[weight!]!.type,
        attrs: { eps },
        module: node.module,
      });
      const foldedBias = emit({
        op: 'fold_bn_bias',
        inputs: [gamma, beta, mean, variance, ...(bias === undefined ? [] : [mapped(bias)])],
        type: original.nodes[node.inputs[1]!]!.type,
        attrs: { eps },
        module: node.module,
      });
      return emit({ ...conv, inputs: [mapped(x!), foldedWeight, foldedBias], module: conv.module });
    }),
};
