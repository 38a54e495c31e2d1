import type { Graph, Node } from '../ir/graph.ts';
import { rewriteGraph } from '../ir/rewrite.ts';
import type { Pass } from './pass.ts';

/** What replaces the node a sum (or a ReLU) ends at. */
interface Fusion {
  readonly conv: Node;
  /** Nearest-upsample factor of the conv's input (an upsample moved before a 1x1 conv). */
  readonly inputScale: number;
  readonly terms: readonly { readonly node: number; readonly scale: number }[];
  readonly selfIndex: number;
  readonly relu: boolean;
}

/**
 * Turns every biased conv2d into a fused_conv2d that also does what follows it: a left-deep chain of
 * adds (a residual, or an HRNet fuse-layer sum) in the original order, nearest upsampling of summed
 * terms, and a final ReLU. A sum with no conv of its own at the output resolution takes a 1x1 conv
 * of an upsampled term and computes it at the output resolution instead (nearest upsampling commutes
 * with a 1x1 conv exactly), so every fuse output costs no extra kernel.
 */
export const fuseConvEpilogue: Pass = {
  name: 'fuse-conv-epilogue',
  description: 'fuse bias, residual and fuse-layer sums, upsampling and ReLU into conv kernels',
  run: (graph) => {
    const fusions = planFusions(graph);
    return rewriteGraph(graph, (node, { mapped, emit }) => {
      const fusion = fusions.get(node.id);
      if (!fusion) return undefined;
      const { conv } = fusion;
      const [x, weight, bias] = conv.inputs as [number, number, number];
      return emit({
        op: 'fused_conv2d',
        inputs: [mapped(x), mapped(weight), mapped(bias), ...fusion.terms.map((t) => mapped(t.node))],
        type: node.type,
        attrs: {
          kernel: conv.attrs.kernel as number,
          stride: conv.attrs.stride as number,
          pad: conv.attrs.pad as number,
          input_scale: fusion.inputScale,
          relu: fusion.relu,
          self_index: fusion.selfIndex,
          term_scales: fusion.terms.map((t) => t.scale),
        },
        module: conv.module,
      });
    });
  },
};

function planFusions(graph: Graph): Map<number, Fusion> {
  const readers = graph.nodes.map(() => [] as number[]);
  for (const node of graph.nodes) for (const input of node.inputs) readers[input]!.push(node.id);
  const only = (id: number) => (readers[id]!.length === 1 ? graph.nodes[readers[id]![0]!]! : undefined);
  const isBiasedConv = (node: Node | undefined): node is Node =>
    node?.op === 'conv2d' && node.inputs.length === 3;
  const fusions = new Map<number, Fusion>();
  const used = new Set<number>();
  const withRelu = (end: Node) => {
    const next = only(end.id);
    return next?.op === 'relu' ? next : undefined;
  };

  // Sums: the last add of each left-deep chain whose inner adds feed only the next add.
  for (const end of graph.nodes) {
    if (end.op !== 'add') continue;
    const next = only(end.id);
    if (next?.op === 'add' && next.inputs[0] === end.id) continue;
    const chain: Node[] = [end];
    for (
      let first = graph.nodes[end.inputs[0]!]!;
      first.op === 'add' && readers[first.id]!.length === 1;
      first = graph.nodes[first.inputs[0]!]!
    ) {
      chain.unshift(first);
    }
    const termIds = [chain[0]!.inputs[0]!, ...chain.map((a) => a.inputs[1]!)];
    const soleTerm = (id: number) =>
      readers[id]!.length === 1 && !termIds.some((other, i) => other === id && termIds.indexOf(id) !== i);
    let designated = termIds.findIndex(
      (id) => isBiasedConv(graph.nodes[id]) && soleTerm(id) && !used.has(id),
    );
    let inputScale = 1;
    let conv: Node | undefined;
    if (designated >= 0) {
      conv = graph.nodes[termIds[designated]!]!;
    } else {
      designated = termIds.findIndex((id) => {
        const term = graph.nodes[id]!;
        const inner = graph.nodes[term.inputs[0] ?? -1];
        return (
          term.op === 'upsample_nearest' &&
          soleTerm(id) &&
          isBiasedConv(inner) &&
          readers[inner.id]!.length === 1 &&
          inner.attrs.kernel === 1 &&
          inner.attrs.stride === 1 &&
          inner.attrs.pad === 0
        );
      });
      if (designated < 0) continue;
      const upsample = graph.nodes[termIds[designated]!]!;
      conv = graph.nodes[upsample.inputs[0]!]!;
      inputScale = upsample.attrs.scale as number;
    }
    const terms = termIds
      .filter((_, i) => i !== designated)
      .map((id) => {
        const term = graph.nodes[id]!;
        return term.op === 'upsample_nearest' && soleTerm(id)
          ? { node: term.inputs[0]!, scale: term.attrs.scale as number }
          : { node: id, scale: 1 };
      });
    const relu = withRelu(end);
    used.add(conv.id);
    fusions.set((relu ?? end).id, {
      conv,
      inputScale,
      terms,
      selfIndex: designated,
      relu: relu !== undefined,
    });
  }

  // Every other biased conv: fused with a ReLU that follows it alone, or on its own.
  for (const node of graph.nodes) {
    if (!isBiasedConv(node) || used.has(node.id)) continue;
    const relu = withRelu(node);
    fusions.set((relu ?? node).id, {
      conv: node,
      inputScale: 1,
      terms: [],
      selfIndex: 0,
      relu: relu !== undefined,
    });
  }
  return fusions;
}
